//! Every figure `cargo xtask bench` reports, in report order: the one list the report, the goals
//! in deploy/todo.toml and the tests check against, so a figure can be skipped but never missing.

use crate::config::Quantity;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum Area {
    /// Compiling and starting xtask itself
    Xtask,
    /// A fresh clone to a running app and to the end of the tests
    FirstRun,
    /// `cargo xtask containerize`: builds, rebuilds and sizes
    Images,
    /// `cargo xtask deploy` on the test cluster (ci/kube.sh)
    Deploy,
    /// todo-api and todo-web under load, beside the database's own ceiling
    App,
}

impl Area {
    /// The name in `--only`, the report's markers and deploy/todo.toml's `[bench.<key>]`.
    pub fn key(self) -> &'static str {
        match self {
            Area::Xtask => "xtask",
            Area::FirstRun => "first_run",
            Area::Images => "images",
            Area::Deploy => "deploy",
            Area::App => "app",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Area::Xtask => "xtask",
            Area::FirstRun => "First run: a fresh clone",
            Area::Images => "Images: `cargo xtask containerize`",
            Area::Deploy => "`cargo xtask deploy` on the test cluster",
            Area::App => "The app under load",
        }
    }
}

/// How a figure is shown; samples are kept in the quantity's base unit (seconds, per second,
/// megabytes, percent, a count).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Seconds, shown as `0.27 s` or `2m05s`.
    Seconds,
    /// Seconds, shown in milliseconds: latencies.
    Millis,
    PerSecond,
    Megabytes,
    Percent,
    Count,
}

impl Unit {
    pub fn quantity(self) -> Quantity {
        match self {
            Unit::Seconds | Unit::Millis => Quantity::Time,
            Unit::PerSecond => Quantity::Rate,
            Unit::Megabytes => Quantity::Size,
            Unit::Percent => Quantity::Percent,
            Unit::Count => Quantity::Count,
        }
    }
}

/// How long one run takes: `--quick` leaves out the figures that take minutes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cost {
    Seconds,
    Minutes,
}

/// Which of deploy/todo.toml's `[budgets]` (the seed plan's) a figure is also held to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeedBudget {
    Build,
    Deploy,
    PodStart,
    /// An image's size budget, containerize's (xtask/src/images.rs), which also holds its goal.
    Image(&'static str),
}

pub struct Spec {
    pub area: Area,
    /// Unique within the area; the figure's id is `area.name`.
    pub name: &'static str,
    pub what: &'static str,
    pub unit: Unit,
    pub cost: Cost,
    pub seed_budget: Option<SeedBudget>,
}

impl Spec {
    pub fn id(&self) -> String {
        format!("{}.{}", self.area.key(), self.name)
    }
}

const fn spec(area: Area, name: &'static str, what: &'static str, unit: Unit, cost: Cost) -> Spec {
    Spec { area, name, what, unit, cost, seed_budget: None }
}

const fn budgeted(
    area: Area,
    name: &'static str,
    what: &'static str,
    unit: Unit,
    cost: Cost,
    budget: SeedBudget,
) -> Spec {
    Spec { area, name, what, unit, cost, seed_budget: Some(budget) }
}

use Area::*;
use Cost::{Minutes, Seconds as Quick};
use Unit::*;

pub const FIGURES: &[Spec] = &[
    spec(
        Xtask,
        "cold_compile",
        "cold compile of xtask (empty target dir, crates downloaded)",
        Seconds,
        Minutes,
    ),
    spec(Xtask, "doctor", "`cargo xtask doctor`, warm (cargo's freshness check included)", Seconds, Quick),
    spec(Xtask, "deploy_dry_run", "`cargo xtask deploy --dry-run`, warm", Seconds, Quick),
    spec(FirstRun, "up", "fresh clone → the URL of `cargo xtask up`", Seconds, Minutes),
    spec(FirstRun, "test", "fresh clone → the end of `cargo xtask test`", Seconds, Minutes),
    budgeted(
        Images,
        "cold",
        "cold build of both images (`--build host`, no target dir)",
        Seconds,
        Minutes,
        SeedBudget::Build,
    ),
    spec(Images, "unchanged", "rerun with nothing changed", Seconds, Quick),
    spec(Images, "one_line_host", "a one-line api change, `--build host`", Seconds, Minutes),
    spec(Images, "one_line_docker", "a one-line api change, `--build docker`", Seconds, Minutes),
    budgeted(Images, "api_size", "todo-api image size", Megabytes, Quick, SeedBudget::Image("todo-api")),
    budgeted(Images, "web_size", "todo-web image size", Megabytes, Quick, SeedBudget::Image("todo-web")),
    spec(Deploy, "first", "first deploy from nothing, image builds included, to verified", Seconds, Minutes),
    budgeted(Deploy, "first_build", "its containerize phase", Seconds, Minutes, SeedBudget::Build),
    budgeted(
        Deploy,
        "first_release",
        "its release phase (`helm upgrade --install` to settled)",
        Seconds,
        Minutes,
        SeedBudget::Deploy,
    ),
    spec(Deploy, "unchanged", "deploy with nothing changed", Seconds, Quick),
    spec(Deploy, "one_line_change", "a one-line api change → every pod Ready", Seconds, Minutes),
    budgeted(
        Deploy,
        "pod_start",
        "pod created → Ready (the slowest pod of a rollout)",
        Seconds,
        Quick,
        SeedBudget::PodStart,
    ),
    spec(
        Deploy,
        "failed_rollout",
        "an api that exits at start → rolled back and diagnosed (`--timeout 60s`)",
        Seconds,
        Minutes,
    ),
    spec(Deploy, "rolling_update_failures", "failed requests while every pod is replaced", Count, Quick),
    spec(App, "list_sqlite_rps", "`GET /api/tasks` (50 tasks), SQLite", PerSecond, Quick),
    spec(App, "list_sqlite_p50", "its p50 latency", Millis, Quick),
    spec(App, "list_sqlite_p99", "its p99 latency", Millis, Quick),
    spec(App, "create_sqlite_rps", "`POST /api/tasks`, SQLite", PerSecond, Quick),
    spec(App, "create_sqlite_p99", "its p99 latency", Millis, Quick),
    spec(App, "rss_sqlite", "peak RSS of todo-api, SQLite", Megabytes, Quick),
    spec(App, "list_postgres_rps", "`GET /api/tasks` (50 tasks), Postgres", PerSecond, Quick),
    spec(App, "list_postgres_p50", "its p50 latency", Millis, Quick),
    spec(App, "list_postgres_p99", "its p99 latency", Millis, Quick),
    spec(App, "create_postgres_rps", "`POST /api/tasks`, Postgres", PerSecond, Quick),
    spec(App, "create_postgres_p99", "its p99 latency", Millis, Quick),
    spec(App, "rss_postgres", "peak RSS of todo-api, Postgres", Megabytes, Quick),
    spec(App, "pgbench_select", "the database's ceiling: `pgbench -S`, same client count", PerSecond, Quick),
    spec(
        App,
        "list_postgres_of_ceiling",
        "the Postgres list against that ceiling ÷ 2 (interleaved runs)",
        Percent,
        Quick,
    ),
    spec(App, "chat_turns", "chat turns, offline agent (`POST /api/chat`)", PerSecond, Quick),
    spec(App, "list_via_web_rps", "`GET /api/tasks` through todo-web's proxy, SQLite", PerSecond, Quick),
    spec(
        App,
        "via_web_of_direct",
        "requests/s through todo-web as a share of direct (interleaved runs)",
        Percent,
        Quick,
    ),
    spec(App, "api_ready_sqlite", "todo-api start → `/readyz` 200, SQLite", Seconds, Quick),
    spec(App, "api_ready_postgres", "todo-api start → `/readyz` 200, Postgres", Seconds, Quick),
    spec(App, "web_ready", "todo-web start → `/readyz` 200", Seconds, Quick),
];

pub fn find(id: &str) -> Option<&'static Spec> {
    FIGURES.iter().find(|spec| spec.id() == id)
}

pub fn of(area: Area) -> impl Iterator<Item = &'static Spec> {
    FIGURES.iter().filter(move |spec| spec.area == area)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn ids_are_unique_and_areas_are_in_report_order() {
        let ids: HashSet<String> = FIGURES.iter().map(Spec::id).collect();
        assert_eq!(ids.len(), FIGURES.len());
        let areas: Vec<Area> = FIGURES.iter().map(|spec| spec.area).collect();
        assert!(areas.is_sorted(), "figures are grouped by area, in the order Area declares them");
    }
}
