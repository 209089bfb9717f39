//! `POST /api/chat` with the offline agent (no LLM key): the phrasings it understands, with the
//! tool calls each makes and the task list it leaves; questions it asks back (which task, are you
//! sure) and their answers; conversations that continue across turns and stay their owner's.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::backend_test;
use crate::helpers::{TestApp, TestUser, error_code};

/// Every row starts from these tasks (index 3 completed).
const FIXTURE: [&str; 5] = ["buy milk", "buy oat milk", "call mom", "pay rent", "water the plants"];

/// What a turn does to the fixture.
#[derive(Debug, Clone)]
enum Change {
    Nothing,
    Added(&'static str),
    Completed(usize),
    Reopened(usize),
    Renamed(usize, &'static str),
    Deleted(usize),
}

/// One phrasing: the message (`$N` stands for the id of fixture task N), the tool calls
/// expected (tool and arguments, with the same placeholders), what the reply must contain, and
/// the change to the task list.
struct Row {
    message: &'static str,
    calls: Vec<(&'static str, Value)>,
    reply: &'static str,
    change: Change,
}

fn row(message: &'static str, calls: Vec<(&'static str, Value)>, reply: &'static str, change: Change) -> Row {
    Row { message, calls, reply, change }
}

fn phrasings() -> Vec<Row> {
    use Change::*;
    let add = |title: &str| vec![("add_task", json!({ "title": title }))];
    let list = |args: Value| vec![("list_tasks", args)];
    let complete = |n: usize| vec![("complete_task", json!({ "task_id": format!("${n}") }))];
    let delete = |n: usize| vec![("delete_task", json!({ "task_id": format!("${n}") }))];
    let none = Vec::new;
    vec![
        // Adds.
        row(
            "add buy oat milk",
            add("buy oat milk"),
            "Added \u{201c}buy oat milk\u{201d}",
            Added("buy oat milk"),
        ),
        row("add buy eggs", add("buy eggs"), "Added", Added("buy eggs")),
        row("Add Buy bread.", add("Buy bread"), "Added", Added("Buy bread")),
        row("remind me to call dad tomorrow", add("call dad tomorrow"), "Added", Added("call dad tomorrow")),
        row("please add renew passport to my list", add("renew passport"), "Added", Added("renew passport")),
        row("new task: book flights", add("book flights"), "Added", Added("book flights")),
        row("I need to fix the bike", add("fix the bike"), "Added", Added("fix the bike")),
        row("put bread on my list", add("bread"), "Added", Added("bread")),
        row(
            "add \"file taxes\" with description before April",
            vec![("add_task", json!({"title": "file taxes", "description": "before April"}))],
            "Added",
            Added("file taxes"),
        ),
        // Lists.
        row("what's on my list", list(json!({"status": "all"})), "You have 5 tasks", Nothing),
        row("show completed tasks", list(json!({"status": "completed"})), "pay rent", Nothing),
        row("what's still pending?", list(json!({"status": "pending"})), "You have 4 pending tasks", Nothing),
        row("find milk", list(json!({"status": "all", "query": "milk"})), "2 tasks matching", Nothing),
        row("how many tasks do I have", none(), "You have 5 tasks: 4 pending and 1 completed.", Nothing),
        row("how many are done?", none(), "You have completed 1 task (of 5).", Nothing),
        row("which ones have I done?", list(json!({"status": "completed"})), "pay rent", Nothing),
        row("show closed tasks", list(json!({"status": "completed"})), "1 completed task", Nothing),
        row("what have I done", list(json!({"status": "completed"})), "1 completed task", Nothing),
        // Completions by id.
        row("mark $2 done", complete(2), "Marked \u{201c}call mom\u{201d} as done", Completed(2)),
        row("complete task $4", complete(4), "as done", Completed(4)),
        row("check off #$0", complete(0), "as done", Completed(0)),
        row("$1 done", complete(1), "as done", Completed(1)),
        row(
            "mark $3 as not done",
            vec![("complete_task", json!({"task_id": "$3", "completed": false}))],
            "Reopened",
            Reopened(3),
        ),
        // Completions by words of the title.
        row("I finished the oat milk one", complete(1), "buy oat milk", Completed(1)),
        row("mark call mom as done", complete(2), "call mom", Completed(2)),
        row("water the plants is done", complete(4), "as done", Completed(4)),
        row("done with the plants", complete(4), "as done", Completed(4)),
        row(
            "reopen pay rent",
            vec![("complete_task", json!({"task_id": "$3", "completed": false}))],
            "Reopened",
            Reopened(3),
        ),
        // Completions told as news.
        row("I bought the oat milk", complete(1), "buy oat milk", Completed(1)),
        row("I bought the milk", complete(0), "Marked \u{201c}buy milk\u{201d}", Completed(0)),
        row("I called mom", complete(2), "call mom", Completed(2)),
        row("just watered the plants", complete(4), "as done", Completed(4)),
        row(
            "pay rent is not finished yet",
            vec![("complete_task", json!({"task_id": "$3", "completed": false}))],
            "Reopened",
            Reopened(3),
        ),
        // Ambiguous: two tasks match, so it asks.
        row("I finished the milk one", none(), "Which one do you mean?", Nothing),
        row("delete the milk one", none(), "Which one do you mean?", Nothing),
        row("rename buy to shop", none(), "Which one do you mean?", Nothing),
        // Renames and descriptions.
        row(
            "rename $2 to call mom and dad",
            vec![("update_task", json!({"task_id": "$2", "title": "call mom and dad"}))],
            "Renamed",
            Renamed(2, "call mom and dad"),
        ),
        row(
            "rename water the plants to water the garden",
            vec![("update_task", json!({"task_id": "$4", "title": "water the garden"}))],
            "Renamed",
            Renamed(4, "water the garden"),
        ),
        row(
            "change task $0's title to buy soy milk",
            vec![("update_task", json!({"task_id": "$0", "title": "buy soy milk"}))],
            "buy soy milk",
            Renamed(0, "buy soy milk"),
        ),
        row(
            "set the description of $0 to oat, not dairy",
            vec![("update_task", json!({"task_id": "$0", "description": "oat, not dairy"}))],
            "Updated the description",
            Nothing,
        ),
        // Deletes.
        row("delete $2", delete(2), "Deleted \u{201c}call mom\u{201d}", Deleted(2)),
        row("remove the rent one", delete(3), "Deleted", Deleted(3)),
        row("get rid of water the plants", delete(4), "Deleted", Deleted(4)),
        row("delete all completed tasks", delete(3), "Deleted \u{201c}pay rent\u{201d}", Deleted(3)),
        row("remove everything that's done", delete(3), "Deleted \u{201c}pay rent\u{201d}", Deleted(3)),
        row("delete all checked tasks", delete(3), "Deleted", Deleted(3)),
        row("delete closed tasks", delete(3), "Deleted", Deleted(3)),
        row("delete the finished rent one", delete(3), "Deleted", Deleted(3)),
        row("delete the completed milk one", none(), "couldn't find a completed task matching", Nothing),
        row("delete completed task $2", none(), "is not completed", Nothing),
        // Adds without "add".
        row(
            "schedule a dentist appointment for next friday",
            add("schedule a dentist appointment for next friday"),
            "Added",
            Added("schedule a dentist appointment for next friday"),
        ),
        row(
            "book a table at Luigi's",
            add("book a table at Luigi's"),
            "Added",
            Added("book a table at Luigi's"),
        ),
        // Bulk deletes wait for a yes.
        row("delete all my tasks", none(), "That would delete 5 tasks", Nothing),
        row("delete $0 and $2", none(), "That would delete 2 tasks", Nothing),
        // Nothing to act on.
        row(
            "delete 999999",
            vec![("delete_task", json!({"task_id": 999999}))],
            "You have no task #999999",
            Nothing,
        ),
        row("mark the bread one done", none(), "couldn't find a task matching", Nothing),
        // Not understood: says so and shows examples.
        row("what's the weather like", none(), "didn't understand", Nothing),
        row("sing me a song", none(), "add buy oat milk", Nothing),
        row("asdf qwerty", none(), "didn't understand", Nothing),
        row("delte $2", none(), "Did you mean \u{201c}delete $2\u{201d}?", Nothing),
        // Help and small talk.
        row("help", none(), "mark 3 done", Nothing),
        row("hello", none(), "Hi!", Nothing),
    ]
}

/// Replaces `$N` with the id of fixture task N (in strings, and whole-string values by numbers).
fn with_ids(text: &str, ids: &[i64]) -> String {
    let mut out = text.to_owned();
    for (n, id) in ids.iter().enumerate().rev() {
        out = out.replace(&format!("${n}"), &id.to_string());
    }
    out
}

fn expected_arguments(arguments: &Value, ids: &[i64]) -> Value {
    let mut arguments = arguments.clone();
    if let Some(Value::String(s)) = arguments.get("task_id")
        && let Some(n) = s.strip_prefix('$')
    {
        arguments["task_id"] = json!(ids[n.parse::<usize>().unwrap()]);
    }
    arguments
}

fn expected_state(change: &Change) -> Vec<(String, bool)> {
    let mut tasks: Vec<(String, bool)> =
        FIXTURE.iter().enumerate().map(|(i, t)| (t.to_string(), i == 3)).collect();
    match change {
        Change::Nothing => {}
        Change::Added(title) => tasks.push((title.to_string(), false)),
        Change::Completed(n) => tasks[*n].1 = true,
        Change::Reopened(n) => tasks[*n].1 = false,
        Change::Renamed(n, title) => tasks[*n].0 = title.to_string(),
        Change::Deleted(n) => {
            tasks.remove(*n);
        }
    }
    tasks.sort();
    tasks
}

async fn with_fixture(app: &TestApp) -> (TestUser, Vec<i64>) {
    let user = app.new_user().await;
    let mut ids = Vec::new();
    for (i, title) in FIXTURE.iter().enumerate() {
        let task = app.create_task(&user, title).await;
        let id = task["id"].as_i64().unwrap();
        if i == 3 {
            app.patch(&format!("/api/tasks/{id}"), &user.token, json!({"completed": true})).await;
        }
        ids.push(id);
    }
    (user, ids)
}

fn calls_of(reply: &Value) -> Vec<(String, Value)> {
    reply["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["tool"].as_str().unwrap().to_owned(), a["arguments"].clone()))
        .collect()
}

backend_test!(
    async fn the_offline_agent_understands_a_table_of_phrasings(db) {
        let app = TestApp::spawn(&db).await;
        let rows = phrasings();
        assert!(rows.len() >= 40, "the issue asks for at least 40 phrasings, the table has {}", rows.len());
        let mut failures = Vec::new();
        for row in &rows {
            let (user, ids) = with_fixture(&app).await;
            let message = with_ids(row.message, &ids);
            let reply = app.say(&user, &message, None).await;
            let calls = calls_of(&reply);
            let expected: Vec<(String, Value)> =
                row.calls.iter().map(|(tool, args)| (tool.to_string(), expected_arguments(args, &ids))).collect();
            let text = reply["reply"].as_str().unwrap();
            let state = app.task_state(&user).await;
            let mut problems = Vec::new();
            if calls != expected {
                problems.push(format!("calls {calls:?}, expected {expected:?}"));
            }
            if !text.contains(&with_ids(row.reply, &ids)) {
                problems.push(format!("reply {text:?} lacks {:?}", row.reply));
            }
            if state != expected_state(&row.change) {
                problems.push(format!("tasks {state:?} after {:?}", row.change));
            }
            // Every action's result is the task (or page) as the REST API returns it, or an error.
            for action in reply["actions"].as_array().unwrap() {
                let result = &action["result"];
                assert!(result.get("id").is_some() || result.get("items").is_some() || result.get("error").is_some(), "{result}");
            }
            if !problems.is_empty() {
                failures.push(format!("{message:?}: {}", problems.join("; ")));
            }
        }
        assert!(failures.is_empty(), "{} of {} rows failed:\n{}", failures.len(), rows.len(), failures.join("\n"));
        app.stop().await;
    }
);

backend_test!(
    async fn the_web_uis_first_message_adds_the_task(db) {
        // The browser suite types exactly this with no LLM key.
        let app = TestApp::spawn(&db).await;
        let user = app.new_user().await;
        let reply = app.say(&user, "add buy oat milk", None).await;
        assert!(reply["conversation_id"].as_i64().is_some(), "{reply}");
        assert_eq!(reply["awaiting_confirmation"], false);
        let action = &reply["actions"][0];
        assert_eq!(action["tool"], "add_task");
        assert_eq!(action["arguments"], json!({"title": "buy oat milk"}));
        let (_, task) = app.get(&format!("/api/tasks/{}", action["result"]["id"]), &user.token).await;
        assert_eq!(action["result"], task, "the result is the task as GET /api/tasks/{{id}} returns it");
        assert_eq!(app.task_state(&user).await, [("buy oat milk".to_owned(), false)]);
        app.stop().await;
    }
);

backend_test!(
    async fn an_ambiguous_request_is_answered_on_the_next_turn(db) {
        let app = TestApp::spawn(&db).await;
        let (user, ids) = with_fixture(&app).await;

        let asked = app.say(&user, "I finished the milk one", None).await;
        let chat = asked["conversation_id"].as_i64();
        let text = asked["reply"].as_str().unwrap();
        assert!(text.contains(&format!("#{}", ids[0])) && text.contains(&format!("#{}", ids[1])), "{text}");
        assert_eq!(asked["actions"], json!([]), "nothing is done while it is unclear");

        // A number that is not one of them asks again.
        let again = app.say(&user, &ids[2].to_string(), chat).await;
        assert!(again["reply"].as_str().unwrap().contains("isn't one of them"), "{again}");
        // Words that fit one of them answer it.
        let done = app.say(&user, "the oat one", chat).await;
        assert_eq!(calls_of(&done), [("complete_task".to_owned(), json!({"task_id": ids[1]}))]);
        assert_eq!(app.task_state(&user).await, expected_state(&Change::Completed(1)));

        // "no" lets a question go; an id answers one.
        app.say(&user, "delete the milk one", chat).await;
        let cancelled = app.say(&user, "never mind", chat).await;
        assert_eq!(cancelled["actions"], json!([]));
        app.say(&user, "rename buy to shop", chat).await;
        let renamed = app.say(&user, &format!("#{}", ids[0]), chat).await;
        assert_eq!(calls_of(&renamed), [("update_task".to_owned(), json!({"task_id": ids[0], "title": "shop"}))]);
        assert!(app.task_state(&user).await.iter().any(|(t, _)| t == "shop"));
        assert_eq!(app.task_state(&user).await.len(), 5, "nothing was deleted");
        app.stop().await;
    }
);

backend_test!(
    async fn deleting_several_tasks_waits_for_an_explicit_yes(db) {
        let app = TestApp::spawn(&db).await;
        let (user, ids) = with_fixture(&app).await;

        // "no" keeps them.
        let asked = app.say(&user, "delete all my tasks", None).await;
        let chat = asked["conversation_id"].as_i64();
        assert_eq!(asked["awaiting_confirmation"], true);
        assert_eq!(asked["actions"], json!([]));
        for id in &ids {
            assert!(asked["reply"].as_str().unwrap().contains(&format!("#{id}")), "the question lists every task");
        }
        let kept = app.say(&user, "no", chat).await;
        assert_eq!((kept["actions"].clone(), kept["awaiting_confirmation"].clone()), (json!([]), json!(false)));
        assert_eq!(app.task_state(&user).await.len(), 5);
        // A "yes" with nothing pending does nothing either.
        let stray = app.say(&user, "yes", chat).await;
        assert_eq!(stray["actions"], json!([]), "{stray}");

        // Another request instead of an answer drops the question.
        let asked = app.say(&user, "delete everything", chat).await;
        assert_eq!(asked["awaiting_confirmation"], true);
        let other = app.say(&user, "add buy eggs", chat).await;
        assert!(other["reply"].as_str().unwrap().starts_with("(I didn't delete"), "{other}");
        assert_eq!(app.say(&user, "yes", chat).await["actions"], json!([]), "the dropped question cannot be answered later");
        assert_eq!(app.task_state(&user).await.len(), 6);

        // "yes" deletes exactly the tasks listed, and none added since.
        let asked = app.say(&user, "delete all my tasks", chat).await;
        app.create_task(&user, "added after the question").await;
        let confirmed = app.say(&user, "yes, delete them", chat).await;
        let deleted: Vec<_> = calls_of(&confirmed).into_iter().map(|(tool, args)| (tool, args["task_id"].as_i64().unwrap())).collect();
        assert_eq!(deleted.len(), 6, "{confirmed}");
        assert!(deleted.iter().all(|(tool, _)| tool == "delete_task"));
        assert!(confirmed["reply"].as_str().unwrap().starts_with("Deleted 6 tasks"), "{confirmed}");
        assert_eq!(app.task_state(&user).await, [("added after the question".to_owned(), false)]);
        assert_eq!(asked["awaiting_confirmation"], true);
        app.stop().await;
    }
);

backend_test!(
    async fn a_confirmation_lapses_after_ten_minutes(db) {
        let app = TestApp::spawn(&db).await;
        let (user, _) = with_fixture(&app).await;
        let asked = app.say(&user, "delete all my tasks", None).await;
        let chat = asked["conversation_id"].as_i64().unwrap();
        // Age the question as if it had been asked 11 minutes ago.
        let stale = json!(chrono::Utc::now() - chrono::Duration::minutes(11));
        let read = "SELECT pending FROM conversations WHERE id = $1";
        let write = "UPDATE conversations SET pending = $1 WHERE id = $2";
        match &app.state.db {
            todo_api::db::Db::Postgres(pool) => {
                let (mut pending,): (sqlx::types::Json<Value>,) = sqlx::query_as(read).bind(chat).fetch_one(pool).await.unwrap();
                pending.0["asked_at"] = stale;
                sqlx::query(write).bind(pending).bind(chat).execute(pool).await.unwrap();
            }
            todo_api::db::Db::Sqlite(db) => {
                let (mut pending,): (sqlx::types::Json<Value>,) = sqlx::query_as(read).bind(chat).fetch_one(&db.pool).await.unwrap();
                pending.0["asked_at"] = stale;
                sqlx::query(write).bind(pending).bind(chat).execute(&db.pool).await.unwrap();
            }
        }
        let late = app.say(&user, "yes", Some(chat)).await;
        assert_eq!(late["actions"], json!([]), "{late}");
        assert_eq!(app.task_state(&user).await.len(), 5);
        app.stop().await;
    }
);

backend_test!(
    async fn a_conversation_continues_across_turns_and_stays_its_owners(db) {
        let app = TestApp::spawn(&db).await;
        let alice = app.new_user().await;
        let bob = app.new_user().await;

        let first = app.say(&alice, "add buy oat milk", None).await;
        let chat = first["conversation_id"].as_i64().unwrap();
        let second = app.say(&alice, "what's on my list", Some(chat)).await;
        assert_eq!(second["conversation_id"], chat, "the same conversation");
        assert!(second["reply"].as_str().unwrap().contains("buy oat milk"));

        // The history holds both turns, each with its tool call and result, in order.
        let (_, conversations) = app.get("/api/conversations", &alice.token).await;
        assert_eq!(conversations["total"], 1);
        assert_eq!(conversations["items"][0]["title"], "add buy oat milk");
        let (_, messages) = app.get(&format!("/api/conversations/{chat}/messages"), &alice.token).await;
        let roles: Vec<_> = messages["items"].as_array().unwrap().iter().map(|m| m["role"].as_str().unwrap()).collect();
        assert_eq!(roles, ["user", "assistant", "tool", "assistant", "user", "assistant", "tool", "assistant"]);
        let m = messages["items"].as_array().unwrap();
        let call = &m[1]["tool_calls"][0];
        assert_eq!(call["type"], "function");
        assert_eq!(call["function"]["name"], "add_task");
        assert_eq!(serde_json::from_str::<Value>(call["function"]["arguments"].as_str().unwrap()).unwrap(), json!({"title": "buy oat milk"}));
        assert_eq!(m[2]["tool_call_id"], call["id"]);
        assert_eq!(serde_json::from_str::<Value>(m[2]["content"].as_str().unwrap()).unwrap(), first["actions"][0]["result"]);
        assert_eq!(m[3]["content"], first["reply"]);

        // Bob cannot continue, read or answer Alice's conversation, even a question in it.
        app.say(&alice, "add buy milk", Some(chat)).await;
        let asked = app.say(&alice, "delete the milk one", Some(chat)).await;
        assert!(asked["reply"].as_str().unwrap().contains("Which one"));
        let (status, body) = app.chat(&bob, "yes", Some(chat)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        assert_eq!(error_code(&body), "not_found");
        let (status, _) = app.chat(&bob, "the oat one", Some(chat)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = app.get(&format!("/api/conversations/{chat}/messages"), &bob.token).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (_, after) = app.get(&format!("/api/conversations/{chat}/messages"), &alice.token).await;
        assert_eq!(after["items"].as_array().unwrap().len(), m.len() + 4 + 2, "bob's attempts stored nothing");
        assert_eq!(app.task_state(&alice).await.len(), 2, "alice's tasks are untouched");
        assert_eq!(app.task_state(&bob).await.len(), 0);
        app.stop().await;
    }
);

backend_test!(
    async fn chat_requests_are_validated(db) {
        let app = TestApp::spawn(&db).await;
        let user = app.new_user().await;
        for (body, status, code) in [
            (json!({"message": "   "}), StatusCode::UNPROCESSABLE_ENTITY, "validation_error"),
            (json!({"message": "x".repeat(4001)}), StatusCode::UNPROCESSABLE_ENTITY, "validation_error"),
            (json!({"message": "hi", "user_id": 1}), StatusCode::UNPROCESSABLE_ENTITY, "validation_error"),
            (json!({}), StatusCode::UNPROCESSABLE_ENTITY, "validation_error"),
            (json!({"message": "hi", "conversation_id": 424242}), StatusCode::NOT_FOUND, "not_found"),
            (json!({"message": "hi", "conversation_id": "abc"}), StatusCode::UNPROCESSABLE_ENTITY, "validation_error"),
        ] {
            let (got, answer) = app.post("/api/chat", &user.token, body.clone()).await;
            assert_eq!(got, status, "{body}: {answer}");
            assert_eq!(error_code(&answer), code);
        }
        let (status, _) = app.request(reqwest::Method::POST, "/api/chat", None, Some(json!({"message": "hi"}))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (_, conversations) = app.get("/api/conversations", &user.token).await;
        assert_eq!(conversations["total"], 0, "refused turns store nothing");
        app.stop().await;
    }
);

backend_test!(
    async fn a_full_conversation_rolls_over_to_a_new_one(db) {
        use todo_api::auth::UserId;
        use todo_api::conversations::{MAX_MESSAGES, NewMessage, store};
        let app = TestApp::spawn(&db).await;
        let user = app.new_user().await;
        let first = app.say(&user, "hello", None).await;
        let chat = first["conversation_id"].as_i64().unwrap();
        let filler: Vec<NewMessage> = (0..MAX_MESSAGES - 2 - 60).map(|i| NewMessage::User { content: format!("m{i}") }).collect();
        assert!(store::record_turn(&app.state.db, UserId(user.id), chat, &filler, None).await.unwrap());

        let next = app.say(&user, "add buy milk", Some(chat)).await;
        let new_chat = next["conversation_id"].as_i64().unwrap();
        assert_ne!(new_chat, chat, "{next}");
        assert!(next["reply"].as_str().unwrap().contains("was full"), "{next}");
        assert_eq!(next["actions"][0]["tool"], "add_task", "the turn itself still happened");
        let (_, old) = app.get(&format!("/api/conversations/{chat}/messages"), &user.token).await;
        assert_eq!(old["items"].as_array().unwrap().len() as i64, MAX_MESSAGES - 60, "the full one is unchanged");
        app.stop().await;
    }
);

backend_test!(
    async fn one_message_changes_at_most_twenty_tasks(db) {
        let app = TestApp::spawn(&db).await;
        let user = app.new_user().await;
        let task = app.create_task(&user, "buy milk").await;
        let id = task["id"].as_i64().unwrap();
        let ids: Vec<String> = (id..id + 900).map(|n| n.to_string()).collect();
        for verb in ["mark", "delete"] {
            let message = if verb == "mark" { format!("mark {} done", ids.join(" ")) } else { format!("delete {}", ids.join(" ")) };
            let reply = app.say(&user, &message, None).await;
            assert!(reply["reply"].as_str().unwrap().contains("at most 20 per message"), "{reply}");
            assert_eq!(reply["actions"], json!([]), "nothing was tried");
        }
        assert_eq!(app.task_state(&user).await, [("buy milk".to_owned(), false)]);
        app.stop().await;
    }
);

backend_test!(
    async fn each_change_of_a_chat_turn_is_charged_to_the_write_budget(db) {
        let app = TestApp::spawn_with(&db, &[("RATE_LIMIT_WRITES_PER_MINUTE", "6")]).await;
        let user = app.new_user().await;
        let mut ids = Vec::new();
        for title in ["a1", "a2", "a3", "a4"] {
            ids.push(app.create_task(&user, title).await["id"].as_i64().unwrap().to_string());
        }
        // Four writes spent; the chat request takes the fifth, which pays for its first change,
        // the second change takes the last one, and the third is refused: the fourth is not tried.
        let reply = app.say(&user, &format!("mark {} done", ids.join(" ")), None).await;
        let actions = reply["actions"].as_array().unwrap();
        assert_eq!(actions.len(), 3, "{reply}");
        assert_eq!(actions[2]["result"]["error"]["code"], "rate_limited", "{reply}");
        assert!(reply["reply"].as_str().unwrap().contains("limit of task changes per minute"), "{reply}");
        let done = app.task_state(&user).await.into_iter().filter(|(_, done)| *done).count();
        assert_eq!(done, 2);
        app.stop().await;
    }
);

backend_test!(
    async fn a_turn_with_nul_characters_is_stored_without_them(db) {
        use todo_api::auth::UserId;
        use todo_api::conversations::{NewMessage, store};
        let app = TestApp::spawn(&db).await;
        let user = app.new_user().await;
        let chat = app.say(&user, "hello", None).await["conversation_id"].as_i64().unwrap();
        let call = json!({"id": "call_\u{0}1", "type": "function", "function": {"name": "list_tasks", "arguments": "{}\u{0}"}});
        let turn = [
            NewMessage::Assistant { content: "a\u{0}b".into(), tool_calls: vec![call] },
            NewMessage::Tool { tool_call_id: "call_\u{0}1".into(), content: "{}\u{0}".into() },
        ];
        let pending = json!({"kind": "none\u{0}"});
        assert!(store::record_turn(&app.state.db, UserId(user.id), chat, &turn, Some(&pending)).await.unwrap());
        let (_, stored) = app.get(&format!("/api/conversations/{chat}/messages"), &user.token).await;
        let items = stored["items"].as_array().unwrap();
        let n = items.len();
        assert_eq!(items[n - 2]["content"], "ab");
        assert_eq!(items[n - 2]["tool_calls"][0]["id"], "call_1");
        assert_eq!(items[n - 2]["tool_calls"][0]["function"]["arguments"], "{}");
        assert_eq!((&items[n - 1]["tool_call_id"], &items[n - 1]["content"]), (&json!("call_1"), &json!("{}")));
        app.stop().await;
    }
);

backend_test!(
    async fn titles_are_found_beyond_the_newest_hundred_and_delete_all_says_what_it_covers(db) {
        let app = TestApp::spawn(&db).await;
        let user = app.new_user().await;
        let oldest = app.create_task(&user, "milk").await["id"].as_i64().unwrap();
        let mut newer = Vec::new();
        for i in 0..104 {
            newer.push(app.create_task(&user, &format!("buy milk {i}")).await["id"].as_i64().unwrap());
        }
        // The exact title is older than the newest 100 tasks that mention milk.
        let done = app.say(&user, "mark milk done", None).await;
        assert_eq!(done["reply"], "Marked \u{201c}milk\u{201d} as done.", "{done}");
        assert_eq!(done["actions"][0]["result"]["id"], oldest);
        // Words that fit many tasks: the question says it compared only the newest of them.
        let asked = app.say(&user, "mark buy milk done", None).await;
        let question = asked["reply"].as_str().unwrap();
        assert!(question.contains("Which one"), "{question}");
        assert!(question.contains("the newest 100 of your 105 tasks with those words"), "{question}");

        for id in &newer {
            app.patch(&format!("/api/tasks/{id}"), &user.token, json!({"completed": true})).await;
        }
        let asked = app.say(&user, "delete all completed tasks", None).await;
        assert_eq!(asked["awaiting_confirmation"], true, "{asked}");
        let question = asked["reply"].as_str().unwrap();
        assert!(question.starts_with("That would delete 100 tasks"), "{question}");
        assert!(question.contains("the newest 100 of your 105 completed tasks"), "{question}");
        let yes = app.say(&user, "yes", asked["conversation_id"].as_i64()).await;
        assert_eq!(yes["actions"].as_array().unwrap().len(), 100, "{yes}");
        assert_eq!(app.task_state(&user).await.len(), 5);
        app.stop().await;
    }
);
