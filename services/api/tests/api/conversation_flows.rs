//! Whole conversations with the offline agent through `POST /api/chat`, as a new user would
//! have them: everyday sentences rather than commands, one conversation per story, each turn's
//! reply, the tools it ran, and the list it leaves. Tasks are named by the user's own numbers.

use crate::backend_test;
use crate::helpers::{TestApp, TestUser};

/// One turn: what the user says, what the reply must contain, the tools run (in order).
struct Turn(&'static str, &'static str, &'static [&'static str]);

/// Says every turn in one conversation; returns the failures.
async fn converse(app: &TestApp, user: &TestUser, turns: &[Turn]) -> Vec<String> {
    let mut chat = None;
    let mut failures = Vec::new();
    for Turn(message, reply, tools) in turns {
        let answer = app.say(user, message, chat).await;
        chat = answer["conversation_id"].as_i64();
        let text = answer["reply"].as_str().unwrap_or_default();
        let ran: Vec<&str> =
            answer["actions"].as_array().unwrap().iter().map(|a| a["tool"].as_str().unwrap()).collect();
        if !text.contains(reply) || ran != *tools {
            failures.push(format!(
                "{message:?}: reply {text:?} (wanted {reply:?}), tools {ran:?} (wanted {tools:?})"
            ));
        }
    }
    failures
}

fn owned(tasks: &[(&str, bool)]) -> Vec<(String, bool)> {
    let mut tasks: Vec<(String, bool)> = tasks.iter().map(|(t, c)| (t.to_string(), *c)).collect();
    tasks.sort();
    tasks
}

backend_test!(
    async fn a_new_user_talks_to_the_assistant_as_to_a_person(db) {
        let app = TestApp::spawn(&db).await;
        // Another user's tasks first, so global ids and this user's numbers differ.
        let other = app.new_user().await;
        for title in ["someone else's", "not yours"] {
            app.create_task(&other, title).await;
        }
        let user = app.new_user().await;
        let failures = converse(&app, &user, &[
            Turn("schedule a dentist appointment for next friday", "Added \u{201c}schedule a dentist appointment for next friday\u{201d} to your list (#1)", &["add_task"]),
            Turn("I need to buy milk", "(#2)", &["add_task"]),
            Turn("book a table at Luigi's", "(#3)", &["add_task"]),
            Turn("how many tasks do I have?", "You have 3 tasks: 3 pending and 0 completed.", &[]),
            Turn("I bought the milk", "Marked \u{201c}buy milk\u{201d} as done", &["complete_task"]),
            Turn("which ones have I done?", "#2 buy milk", &["list_tasks"]),
            Turn("how many are left", "You have 2 pending tasks (of 3).", &[]),
            Turn("remove everything that's done", "Deleted \u{201c}buy milk\u{201d}", &["delete_task"]),
            Turn("the dentist appointment is done", "Marked \u{201c}schedule a dentist appointment for next friday\u{201d} as done", &["complete_task"]),
            Turn("actually, the dentist appointment isn't finished yet", "Reopened", &["complete_task"]),
            Turn("add call mom", "(#4)", &["add_task"]),
            Turn("what's on my list", "#4 call mom", &["list_tasks"]),
        ]).await;
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        assert_eq!(
            app.task_state(&user).await,
            owned(&[("schedule a dentist appointment for next friday", false), ("book a table at Luigi's", false), ("call mom", false)])
        );
        assert_eq!(app.task_state(&other).await.len(), 2, "the other user's tasks are untouched");
        app.stop().await;
    }
);

backend_test!(
    async fn a_state_word_never_deletes_tasks_in_the_other_state(db) {
        let app = TestApp::spawn(&db).await;
        let user = app.new_user().await;
        // #1 #2 #3 done, #4 #5 open.
        for (title, done) in [("pay rent", true), ("call mom", true), ("old report", true), ("write the report", false), ("water the plants", false)] {
            let task = app.create_task(&user, title).await;
            if done {
                let (_, _) = app.patch(&format!("/api/tasks/{}", task["id"]), &user.token, serde_json::json!({"completed": true})).await;
            }
        }
        let failures = converse(&app, &user, &[
            // The open report is not "the finished report"; the done one is.
            Turn("delete the finished write the report task", "I couldn't find a completed task matching", &[]),
            Turn("delete completed task 4", "#4 \u{201c}write the report\u{201d} is not completed, so I left it alone.", &[]),
            Turn("delete the open rent one", "I couldn't find a pending task matching \u{201c}rent\u{201d}", &[]),
            // Bulk: asks first, naming only the done tasks.
            Turn("delete all checked tasks", "That would delete 3 tasks", &[]),
            Turn("no", "didn't delete anything", &[]),
            Turn("remove the completed ones", "#3", &[]),
            Turn("yes", "Deleted 3 tasks", &["delete_task", "delete_task", "delete_task"]),
            Turn("delete closed tasks", "You have no completed tasks, so there is nothing to delete.", &[]),
            Turn("how many tasks do I have", "You have 2 tasks: 2 pending and 0 completed.", &[]),
        ]).await;
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        assert_eq!(app.task_state(&user).await, owned(&[("write the report", false), ("water the plants", false)]));
        app.stop().await;
    }
);

backend_test!(
    async fn what_is_not_understood_gets_the_closest_command_back(db) {
        let app = TestApp::spawn(&db).await;
        let user = app.new_user().await;
        app.create_task(&user, "finish the report").await;
        let failures = converse(&app, &user, &[
            Turn("delte 1", "Did you mean \u{201c}delete 1\u{201d}?", &[]),
            Turn("finish the report", "Did you mean \u{201c}mark the report done\u{201d} or \u{201c}add finish the report\u{201d}?", &[]),
            Turn("mark the report done", "Marked \u{201c}finish the report\u{201d} as done", &["complete_task"]),
            Turn("is the report done?", "Did you mean \u{201c}show completed tasks\u{201d}?", &[]),
            Turn("the report isn't done", "Reopened", &["complete_task"]),
            Turn("what's the weather like", "didn't understand", &[]),
        ]).await;
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        assert_eq!(app.task_state(&user).await, owned(&[("finish the report", false)]));
        app.stop().await;
    }
);
