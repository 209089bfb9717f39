//! Everything xtask prints goes through [`Ui`]: human text on stderr, results on stdout, and with
//! `--json` one NDJSON event per line on stdout. Every line passes the [`Redactor`] first, so no
//! code path can print a registered secret.

use std::io::{self, IsTerminal, Write};
use std::sync::{Arc, Mutex};

use crate::secret::Redactor;

#[derive(Clone)]
pub struct Ui {
    inner: Arc<Inner>,
}

struct Inner {
    json: bool,
    verbose: bool,
    color: bool,
    redactor: Redactor,
    stdout: Mutex<Box<dyn Write + Send>>,
    stderr: Mutex<Box<dyn Write + Send>>,
}

#[derive(Clone, Copy)]
pub enum Style {
    Bold,
    Dim,
    Red,
    Green,
    Yellow,
    Cyan,
}

impl Ui {
    pub fn stdio(json: bool, verbose: bool) -> Ui {
        let color = io::stderr().is_terminal()
            && std::env::var_os("NO_COLOR").is_none()
            && std::env::var("TERM").map_or(true, |term| term != "dumb");
        Ui::new(json, verbose, color, Box::new(io::stdout()), Box::new(io::stderr()))
    }

    pub fn new(
        json: bool,
        verbose: bool,
        color: bool,
        stdout: Box<dyn Write + Send>,
        stderr: Box<dyn Write + Send>,
    ) -> Ui {
        Ui {
            inner: Arc::new(Inner {
                json,
                verbose,
                color,
                redactor: Redactor::default(),
                stdout: Mutex::new(stdout),
                stderr: Mutex::new(stderr),
            }),
        }
    }

    pub fn redactor(&self) -> &Redactor {
        &self.inner.redactor
    }

    pub fn json(&self) -> bool {
        self.inner.json
    }

    pub fn verbose(&self) -> bool {
        self.inner.verbose
    }

    pub fn paint(&self, style: Style, text: &str) -> String {
        if !self.inner.color {
            return text.to_owned();
        }
        let code = match style {
            Style::Bold => "1",
            Style::Dim => "2",
            Style::Red => "31",
            Style::Green => "32",
            Style::Yellow => "33",
            Style::Cyan => "36",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }

    /// The start of a unit of work the user should see, e.g. a phase.
    pub fn heading(&self, text: &str) {
        let line = self.paint(Style::Bold, &format!("▶ {text}"));
        self.err_line(&line);
    }

    pub fn info(&self, text: &str) {
        self.err_line(text);
    }

    /// Shown only with `-v`.
    pub fn detail(&self, text: &str) {
        if self.verbose() {
            let line = self.paint(Style::Dim, text);
            self.err_line(&line);
        }
    }

    pub fn success(&self, text: &str) {
        let line = self.paint(Style::Green, &format!("✓ {text}"));
        self.err_line(&line);
    }

    pub fn warn(&self, text: &str) {
        let line = self.paint(Style::Yellow, &format!("! {text}"));
        self.err_line(&line);
    }

    pub fn error(&self, text: &str) {
        let line = self.paint(Style::Red, &format!("✗ {text}"));
        self.err_line(&line);
    }

    /// The echo of a command about to run (or, in a dry run, that would run).
    pub fn command(&self, line: &str, dry_run: bool) {
        let prefix = if dry_run { "[dry-run] $ " } else { "$ " };
        let line = self.paint(Style::Cyan, &format!("  {prefix}{line}"));
        self.err_line(&line);
    }

    /// One line of a child process's output, streamed as it arrives.
    pub fn child_line(&self, line: &str) {
        let gutter = self.paint(Style::Dim, "    │ ");
        self.err_line(&format!("{gutter}{line}"));
    }

    /// The result of a command (a table, a report): stdout, so it can be piped.
    pub fn print(&self, text: &str) {
        let text = self.inner.redactor.redact(text);
        let mut out = self.inner.stdout.lock().unwrap();
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }

    /// One NDJSON event on stdout; only in `--json` mode.
    pub fn event(&self, event: serde_json::Value) {
        if self.json() {
            self.print(&event.to_string());
        }
    }

    fn err_line(&self, text: &str) {
        let text = self.inner.redactor.redact(text);
        let mut err = self.inner.stderr.lock().unwrap();
        let _ = writeln!(err, "{text}");
        let _ = err.flush();
    }
}

/// `0.4s`, `12.3s`, `2m05s`, `1h02m`: short, and aligned well in tables.
pub fn fmt_duration(duration: std::time::Duration) -> String {
    let secs = duration.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else if secs < 3600.0 {
        let secs = secs.round() as u64;
        format!("{}m{:02}s", secs / 60, secs % 60)
    } else {
        let mins = (secs / 60.0).round() as u64;
        format!("{}h{:02}m", mins / 60, mins % 60)
    }
}

/// A plain-text table; cells may carry a style, applied after padding so columns stay aligned.
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<(String, Option<Style>)>>,
}

impl Table {
    pub fn new(headers: &[&str]) -> Table {
        Table { headers: headers.iter().map(|h| h.to_string()).collect(), rows: Vec::new() }
    }

    pub fn row(&mut self, cells: Vec<(String, Option<Style>)>) {
        self.rows.push(cells);
    }

    pub fn render(&self, ui: &Ui) -> String {
        let width = |i: usize| {
            let cells = self.rows.iter().filter_map(|row| row.get(i)).map(|(text, _)| text.chars().count());
            cells.chain([self.headers[i].chars().count()]).max().unwrap_or(0)
        };
        let widths: Vec<usize> = (0..self.headers.len()).map(width).collect();
        let line = |cells: Vec<(String, Option<Style>)>| {
            let last = cells.len().saturating_sub(1);
            let padded: Vec<String> = cells
                .into_iter()
                .enumerate()
                .map(|(i, (text, style))| {
                    let text = if i == last { text } else { format!("{text:<w$}", w = widths[i]) };
                    match style {
                        Some(style) => ui.paint(style, &text),
                        None => text,
                    }
                })
                .collect();
            format!("  {}", padded.join("  ")).trim_end().to_owned()
        };
        let header = self.headers.iter().map(|h| (h.clone(), Some(Style::Bold))).collect();
        let mut lines = vec![line(header)];
        lines.extend(self.rows.iter().cloned().map(line));
        lines.join("\n")
    }
}

/// A `Write` that appends to a shared buffer: lets unit tests read what a [`Ui`] printed.
#[cfg(test)]
#[derive(Clone, Default)]
pub struct Capture(Arc<Mutex<Vec<u8>>>);

#[cfg(test)]
impl Capture {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[cfg(test)]
impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
impl Ui {
    /// A UI writing into buffers: `(ui, stdout, stderr)`.
    pub fn capture(json: bool, verbose: bool) -> (Ui, Capture, Capture) {
        let (out, err) = (Capture::default(), Capture::default());
        let ui = Ui::new(json, verbose, false, Box::new(out.clone()), Box::new(err.clone()));
        (ui, out, err)
    }
}

/// A failure the command has fully told the user about: exit non-zero, print nothing more.
#[derive(Debug)]
pub struct AlreadyReported;

impl std::fmt::Display for AlreadyReported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the failure was reported above")
    }
}

impl std::error::Error for AlreadyReported {}
