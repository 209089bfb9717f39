//! Log output: JSON lines on stdout for clusters (one object per event, the request's span
//! fields included), human-readable text for a terminal.

use std::io::IsTerminal as _;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber. Does nothing if one is installed already (tests spawn many
/// apps in one process).
pub fn init(format: LogFormat, filter: &str) {
    let filter = EnvFilter::builder().parse_lossy(filter);
    // Colour codes only for a terminal: redirected to a file they are noise.
    let ansi = std::io::stdout().is_terminal();
    let builder =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stdout).with_ansi(ansi);
    let _ = match format {
        LogFormat::Json => {
            builder.json().flatten_event(true).with_current_span(true).with_span_list(false).try_init()
        }
        LogFormat::Pretty => builder.try_init(),
    };
}
