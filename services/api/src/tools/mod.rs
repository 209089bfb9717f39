//! The five task tools: one definition of each (name, description, JSON Schema of its arguments),
//! shared by the language model, the offline agent and MCP clients, and one way to run them.
//!
//! Every tool runs as the owner it is given, through the task store, whose every statement is
//! scoped to that owner: a tool cannot reach another user's task whatever its arguments say.
//! Arguments are parsed into the same validated types the REST API uses.

pub mod matching;

use serde::Deserialize;
use serde_json::{Value, json};

pub use matching::{Match, find_by_title};

use crate::auth::UserId;
use crate::db::Db;
use crate::page::PageRequest;
use crate::tasks::{Description, NewTask, StatusFilter, Task, TaskFilter, TaskPatch, Title, store};

/// A tool's public definition.
#[derive(Debug, Clone, Copy)]
pub struct ToolSpec {
    pub name: &'static str,
    pub description: &'static str,
    /// JSON Schema of the arguments object.
    pub parameters: fn() -> Value,
    /// Reads only (MCP `readOnlyHint`).
    pub read_only: bool,
    /// Removes or overwrites data (MCP `destructiveHint`): MCP clients ask their user before
    /// running it, as the chat agent asks before bulk changes.
    pub destructive: bool,
}

pub const ADD_TASK: &str = "add_task";
pub const LIST_TASKS: &str = "list_tasks";
pub const COMPLETE_TASK: &str = "complete_task";
pub const UPDATE_TASK: &str = "update_task";
pub const DELETE_TASK: &str = "delete_task";

/// Every tool, in the order they are offered.
pub const TOOLS: [ToolSpec; 5] = [
    ToolSpec {
        name: ADD_TASK,
        description: "Add a task to the user's list.",
        parameters: || {
            json!({
                "type": "object",
                "properties": {
                    "title": {"type": "string", "minLength": 1, "maxLength": 200,
                              "description": "What to do, one line, in the user's words."},
                    "description": {"type": "string", "maxLength": 2000,
                                    "description": "Optional details."}
                },
                "required": ["title"],
                "additionalProperties": false
            })
        },
        read_only: false,
        destructive: false,
    },
    ToolSpec {
        name: LIST_TASKS,
        description: "List the user's tasks, newest first (at most 50; `total` counts all matches).",
        parameters: || {
            json!({
                "type": "object",
                "properties": {
                    "status": {"type": "string", "enum": ["all", "pending", "completed"],
                               "description": "Which tasks: all, only pending ones, or only completed ones."},
                    "query": {"type": "string", "maxLength": 200,
                              "description": "Only tasks whose title or description contains this text."}
                },
                "required": ["status"],
                "additionalProperties": false
            })
        },
        read_only: true,
        destructive: false,
    },
    ToolSpec {
        name: COMPLETE_TASK,
        description: "Mark one of the user's tasks as done (or, with completed=false, not done). \
                      Give task_id (the task's number, #N), or title with words of its title when the number is not known; \
                      if several tasks match, nothing changes and the matches are returned.",
        parameters: || {
            json!({
                "type": "object",
                "properties": {
                    "task_id": {"type": "integer", "minimum": 1, "description": "The task's number in the user's list (its `id`, shown as #N)."},
                    "title": {"type": "string", "maxLength": 200,
                              "description": "Words of the task's title, instead of task_id."},
                    "completed": {"type": "boolean", "default": true,
                                  "description": "false reopens a completed task."}
                },
                "additionalProperties": false
            })
        },
        read_only: false,
        destructive: false,
    },
    ToolSpec {
        name: UPDATE_TASK,
        description: "Rename one of the user's tasks or change its description. Changing more \
                      than one task in a turn waits for the user's confirmation, which the app asks for.",
        parameters: || {
            json!({
                "type": "object",
                "properties": {
                    "task_id": {"type": "integer", "minimum": 1, "description": "The task's number in the user's list (its `id`, shown as #N)."},
                    "title": {"type": "string", "minLength": 1, "maxLength": 200, "description": "The new title."},
                    "description": {"type": "string", "maxLength": 2000,
                                    "description": "The new description; an empty string removes it."}
                },
                "required": ["task_id"],
                "additionalProperties": false
            })
        },
        read_only: false,
        // Overwrites the title or description: nothing keeps the old text.
        destructive: true,
    },
    ToolSpec {
        name: DELETE_TASK,
        description: "Delete one of the user's tasks for good. Deleting more than one task in a \
                      turn waits for the user's confirmation, which the app asks for.",
        parameters: || {
            json!({
                "type": "object",
                "properties": {
                    "task_id": {"type": "integer", "minimum": 1, "description": "The task's number in the user's list (its `id`, shown as #N)."}
                },
                "required": ["task_id"],
                "additionalProperties": false
            })
        },
        read_only: false,
        destructive: true,
    },
];

pub fn spec(name: &str) -> Option<&'static ToolSpec> {
    TOOLS.iter().find(|t| t.name == name)
}

/// Which task `complete_task` means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Id(i64),
    /// Words of the title, matched by [`find_by_title`].
    Title(String),
}

/// A validated tool call, ready to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolCall {
    AddTask { task: NewTask },
    ListTasks { filter: TaskFilter },
    CompleteTask { target: Target, completed: bool },
    UpdateTask { task_id: i64, patch: TaskPatch },
    DeleteTask { task_id: i64 },
}

/// A tool that could not run as asked. Reported to the caller as the tool's result (an LLM can
/// correct itself from it), never as a failed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolError {
    pub code: &'static str,
    pub message: String,
}

impl ToolError {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }

    fn invalid(message: impl Into<String>) -> Self {
        Self::new("invalid_arguments", message)
    }

    pub fn unknown_tool(name: &str) -> Self {
        let names: Vec<_> = TOOLS.iter().map(|t| t.name).collect();
        Self::new("unknown_tool", format!("there is no tool `{name}`; the tools are {}", names.join(", ")))
    }

    pub fn not_found(task_id: i64) -> Self {
        Self::new("not_found", format!("you have no task #{task_id}"))
    }

    /// The result object: `{"error": {"code", "message"}}`, the API's own error shape.
    pub fn to_result(&self) -> Value {
        json!({"error": {"code": self.code, "message": self.message}})
    }
}

// The wire forms of the arguments. Unknown fields are refused, as the REST API refuses them.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddArgs {
    title: String,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListArgs {
    status: StatusFilter,
    #[serde(default)]
    query: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CompleteArgs {
    #[serde(default, deserialize_with = "id::optional")]
    task_id: Option<i64>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    completed: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateArgs {
    #[serde(deserialize_with = "id::required")]
    task_id: i64,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeleteArgs {
    #[serde(deserialize_with = "id::required")]
    task_id: i64,
}

/// Task ids as integers, or as strings of digits (models quote numbers now and then).
mod id {
    use serde::{Deserialize, Deserializer, de::Error};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Int(i64),
        Text(String),
    }

    fn check<E: Error>(raw: Raw) -> Result<i64, E> {
        let id = match raw {
            Raw::Int(n) => n,
            Raw::Text(s) => s
                .trim()
                .trim_start_matches('#')
                .parse()
                .map_err(|_| E::custom(format!("task_id must be a whole number, got {s:?}")))?,
        };
        if id < 1 {
            return Err(E::custom(format!("task_id must be at least 1, got {id}")));
        }
        Ok(id)
    }

    pub fn required<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        check(Raw::deserialize(d)?)
    }

    pub fn optional<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        Option::<Raw>::deserialize(d)?.map(check).transpose()
    }
}

fn args<T: serde::de::DeserializeOwned>(arguments: &Value) -> Result<T, ToolError> {
    // A call without arguments is sent as `{}`, `null` or nothing at all.
    let arguments = if arguments.is_null() { &json!({}) } else { arguments };
    serde_json::from_value(arguments.clone()).map_err(|e| ToolError::invalid(e.to_string()))
}

fn title(raw: &str) -> Result<Title, ToolError> {
    Title::parse(raw).map_err(ToolError::invalid)
}

fn description(raw: &str) -> Result<Option<Description>, ToolError> {
    Description::parse(raw).map_err(ToolError::invalid)
}

impl ToolCall {
    /// Validates a call by name and JSON arguments, as a model or an MCP client sends it.
    pub fn parse(name: &str, arguments: &Value) -> Result<Self, ToolError> {
        match name {
            ADD_TASK => {
                let a: AddArgs = args(arguments)?;
                let description = match a.description {
                    Some(d) => description(&d)?,
                    None => None,
                };
                Ok(Self::AddTask { task: NewTask { title: title(&a.title)?, description } })
            }
            LIST_TASKS => {
                let a: ListArgs = args(arguments)?;
                let filter = TaskFilter::new(a.status, a.query.as_deref())
                    .map_err(|e| ToolError::invalid(e.replacen("q ", "query ", 1)))?;
                Ok(Self::ListTasks { filter })
            }
            COMPLETE_TASK => {
                let a: CompleteArgs = args(arguments)?;
                let words = a.title.as_deref().map(str::trim).filter(|t| !t.is_empty());
                let target = match (a.task_id, words) {
                    (Some(id), None) => Target::Id(id),
                    (None, Some(words)) => Target::Title(title(words)?.as_str().to_owned()),
                    (Some(_), Some(_)) => return Err(ToolError::invalid("give task_id or title, not both")),
                    (None, None) => {
                        return Err(ToolError::invalid("give task_id, or title to find the task by"));
                    }
                };
                Ok(Self::CompleteTask { target, completed: a.completed.unwrap_or(true) })
            }
            UPDATE_TASK => {
                let a: UpdateArgs = args(arguments)?;
                let patch = TaskPatch {
                    title: a.title.as_deref().map(title).transpose()?,
                    description: a.description.as_deref().map(description).transpose()?,
                    completed: None,
                };
                if patch.is_empty() {
                    return Err(ToolError::invalid("give a new title, a new description, or both"));
                }
                Ok(Self::UpdateTask { task_id: a.task_id, patch })
            }
            DELETE_TASK => {
                let a: DeleteArgs = args(arguments)?;
                Ok(Self::DeleteTask { task_id: a.task_id })
            }
            other => Err(ToolError::unknown_tool(other)),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::AddTask { .. } => ADD_TASK,
            Self::ListTasks { .. } => LIST_TASKS,
            Self::CompleteTask { .. } => COMPLETE_TASK,
            Self::UpdateTask { .. } => UPDATE_TASK,
            Self::DeleteTask { .. } => DELETE_TASK,
        }
    }

    /// The arguments in their wire form; `parse(name(), arguments())` gives the call back.
    pub fn arguments(&self) -> Value {
        let mut args = serde_json::Map::new();
        let mut put = |key: &str, value: Value| {
            args.insert(key.to_owned(), value);
        };
        match self {
            Self::AddTask { task } => {
                put("title", json!(task.title.as_str()));
                if let Some(d) = &task.description {
                    put("description", json!(d.as_str()));
                }
            }
            Self::ListTasks { filter } => {
                put("status", json!(status_name(filter.status)));
                if let Some(q) = &filter.search {
                    put("query", json!(q));
                }
            }
            Self::CompleteTask { target, completed } => {
                match target {
                    Target::Id(id) => put("task_id", json!(id)),
                    Target::Title(words) => put("title", json!(words)),
                }
                if !completed {
                    put("completed", json!(false));
                }
            }
            Self::UpdateTask { task_id, patch } => {
                put("task_id", json!(task_id));
                if let Some(t) = &patch.title {
                    put("title", json!(t.as_str()));
                }
                if let Some(d) = &patch.description {
                    put("description", json!(d.as_ref().map_or("", |d| d.as_str())));
                }
            }
            Self::DeleteTask { task_id } => put("task_id", json!(task_id)),
        }
        Value::Object(args)
    }

    /// Runs the call as `owner`. `Ok` holds the tool's result: the task as the REST API returns
    /// it, a page of tasks for `list_tasks`, or `{"error": ...}` when the call could not do what
    /// it asked (no such task, several matches). `Err` only when the database failed.
    pub async fn execute(&self, db: &Db, owner: UserId) -> Result<Value, sqlx::Error> {
        let result = match self {
            Self::AddTask { task } => to_value(store::create(db, owner, task).await?),
            Self::ListTasks { filter } => {
                let page = store::list(db, owner, filter, PageRequest::default()).await?;
                serde_json::to_value(page).expect("a page of tasks serialises")
            }
            Self::CompleteTask { target, completed } => {
                let task_id = match target {
                    Target::Id(id) => *id,
                    Target::Title(words) => {
                        // Completing looks among pending tasks first, reopening among completed ones.
                        match find_by_title(db, owner, words, Some(!completed)).await? {
                            Match::One(task) => task.id,
                            Match::None => {
                                return Ok(ToolError::new(
                                    "not_found",
                                    format!("none of your tasks matches {words:?}"),
                                )
                                .to_result());
                            }
                            Match::Many(tasks) => return Ok(ambiguous(words, &tasks)),
                        }
                    }
                };
                let patch = TaskPatch { completed: Some(*completed), ..TaskPatch::default() };
                match store::update(db, owner, task_id, &patch).await? {
                    Some(task) => to_value(task),
                    None => ToolError::not_found(task_id).to_result(),
                }
            }
            Self::UpdateTask { task_id, patch } => match store::update(db, owner, *task_id, patch).await? {
                Some(task) => to_value(task),
                None => ToolError::not_found(*task_id).to_result(),
            },
            Self::DeleteTask { task_id } => {
                // Read first so the result can say what was deleted; the delete itself is
                // scoped to the owner again.
                match store::get(db, owner, *task_id).await? {
                    Some(task) if store::delete(db, owner, *task_id).await? => to_value(task),
                    _ => ToolError::not_found(*task_id).to_result(),
                }
            }
        };
        Ok(result)
    }
}

fn to_value(task: Task) -> Value {
    serde_json::to_value(task).expect("a task serialises")
}

/// The result for a title that matches several tasks: nothing changed, here are the candidates.
pub fn ambiguous(words: &str, tasks: &[Task]) -> Value {
    let mut result = ToolError::new(
        "ambiguous",
        format!("{} tasks match {words:?}; nothing was changed: say which one by its number", tasks.len()),
    )
    .to_result();
    result["candidates"] = serde_json::to_value(tasks).expect("tasks serialise");
    result
}

/// Whether the tool changes or removes an existing task (adding one changes nothing that was
/// there; listing changes nothing).
pub fn changes_a_task(name: &str) -> bool {
    matches!(name, COMPLETE_TASK | UPDATE_TASK | DELETE_TASK)
}

/// `Some(message)` if a tool result reports a failure.
pub fn result_error(result: &Value) -> Option<&str> {
    result.get("error").map(|e| e.get("message").and_then(Value::as_str).unwrap_or("failed"))
}

pub fn status_name(status: StatusFilter) -> &'static str {
    match status {
        StatusFilter::All => "all",
        StatusFilter::Pending => "pending",
        StatusFilter::Completed => "completed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_call_round_trips_through_its_wire_form() {
        let calls = [
            (ADD_TASK, json!({"title": "buy milk", "description": "oat"})),
            (ADD_TASK, json!({"title": "buy milk"})),
            (LIST_TASKS, json!({"status": "pending", "query": "milk"})),
            (LIST_TASKS, json!({"status": "all"})),
            (COMPLETE_TASK, json!({"task_id": 3})),
            (COMPLETE_TASK, json!({"title": "milk", "completed": false})),
            (UPDATE_TASK, json!({"task_id": 3, "title": "buy oat milk", "description": ""})),
            (DELETE_TASK, json!({"task_id": 3})),
        ];
        for (name, arguments) in calls {
            let call = ToolCall::parse(name, &arguments).unwrap();
            assert_eq!(call.name(), name);
            assert_eq!(call.arguments(), arguments, "{name}");
            assert_eq!(ToolCall::parse(name, &call.arguments()).unwrap(), call);
        }
    }

    #[test]
    fn arguments_are_validated_like_the_rest_api_validates_bodies() {
        let refused = |name: &str, arguments: Value| ToolCall::parse(name, &arguments).unwrap_err();
        assert_eq!(refused(ADD_TASK, json!({"title": "  "})).code, "invalid_arguments");
        assert_eq!(refused(ADD_TASK, json!({"title": "x".repeat(201)})).code, "invalid_arguments");
        // The owner is never an argument: unknown fields are refused.
        assert!(refused(ADD_TASK, json!({"title": "x", "user_id": 2})).message.contains("user_id"));
        assert!(refused(LIST_TASKS, json!({"status": "everything"})).message.contains("everything"));
        assert!(refused(COMPLETE_TASK, json!({})).message.contains("task_id"));
        assert!(refused(COMPLETE_TASK, json!({"task_id": 1, "title": "x"})).message.contains("not both"));
        assert!(refused(UPDATE_TASK, json!({"task_id": 1})).message.contains("new title"));
        assert!(refused(DELETE_TASK, json!({"task_id": 0})).message.contains("at least 1"));
        assert!(refused(DELETE_TASK, json!(null)).message.contains("task_id"));
        assert_eq!(refused("drop_table", json!({})).code, "unknown_tool");
        // Quoted ids are understood.
        assert_eq!(
            ToolCall::parse(DELETE_TASK, &json!({"task_id": "#7"})).unwrap(),
            ToolCall::DeleteTask { task_id: 7 }
        );
    }

    /// The schemas are what the model and MCP clients see; the parser is what runs. Examples
    /// that use every property parse; dropping a required property or adding an unknown one
    /// fails.
    #[test]
    fn schemas_match_what_the_parser_accepts() {
        let examples = [
            (ADD_TASK, json!({"title": "x", "description": "y"})),
            (LIST_TASKS, json!({"status": "completed", "query": "y"})),
            (COMPLETE_TASK, json!({"task_id": 1, "completed": true})),
            (COMPLETE_TASK, json!({"title": "x"})),
            (UPDATE_TASK, json!({"task_id": 1, "title": "x", "description": "y"})),
            (DELETE_TASK, json!({"task_id": 1})),
        ];
        for tool in TOOLS {
            let schema = (tool.parameters)();
            assert_eq!(schema["type"], "object", "{}", tool.name);
            assert_eq!(schema["additionalProperties"], false, "{}", tool.name);
            let mut offered: Vec<&String> = schema["properties"].as_object().unwrap().keys().collect();
            offered.sort();
            let mut used: Vec<&String> = examples
                .iter()
                .filter(|(name, _)| *name == tool.name)
                .flat_map(|(_, args)| args.as_object().unwrap().keys())
                .collect();
            used.sort();
            used.dedup();
            assert_eq!(offered, used, "{}: the examples cover every property", tool.name);
            let required = schema["required"].as_array().cloned().unwrap_or_default();
            for (_, arguments) in examples.iter().filter(|(name, _)| *name == tool.name) {
                ToolCall::parse(tool.name, arguments).unwrap_or_else(|e| panic!("{}: {e:?}", tool.name));
                for key in &required {
                    let mut without = arguments.clone();
                    without.as_object_mut().unwrap().remove(key.as_str().unwrap());
                    assert!(
                        ToolCall::parse(tool.name, &without).is_err(),
                        "{}: {key} is required",
                        tool.name
                    );
                }
                let mut extra = arguments.clone();
                extra["owner"] = json!(1);
                assert!(ToolCall::parse(tool.name, &extra).is_err(), "{}", tool.name);
            }
            assert_eq!(tool.destructive, [UPDATE_TASK, DELETE_TASK].contains(&tool.name), "{}", tool.name);
            assert_eq!(tool.read_only, tool.name == LIST_TASKS);
        }
    }
}
