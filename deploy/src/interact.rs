//! Everything that talks to a person: [`Reporter`] (lines of text) and
//! [`Approver`] (yes/no), so the same deploy, destroy and bootstrap code runs
//! in a terminal, in CI (no terminal: a required approval is refused, never
//! assumed) and in tests (recorded lines, scripted answers).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Yes,
    No,
    /// No terminal to ask on and no `--yes`: treated as "no".
    NoTerminal,
}

/// Asks a yes/no question.
pub trait Approver {
    fn ask(&mut self, question: &str) -> Answer;
}

/// Receives everything deploy prints.
pub trait Reporter {
    /// A line of the command's own output (stdout in a terminal).
    fn line(&mut self, text: &str);
    /// A note or warning beside the output (stderr in a terminal), so that
    /// what a script parses from stdout stays clean.
    fn warning(&mut self, text: &str) {
        self.line(text);
    }
}

/// Collects lines (tests, snapshots).
#[derive(Debug, Default)]
pub struct RecordingReporter {
    pub lines: Vec<String>,
}

impl Reporter for RecordingReporter {
    fn line(&mut self, text: &str) {
        self.lines.push(text.to_owned());
    }
}

/// A scripted approver for tests.
#[cfg(any(test, feature = "test-util"))]
#[derive(Debug, Clone)]
pub struct FixedAnswer(pub Answer);

#[cfg(any(test, feature = "test-util"))]
impl Approver for FixedAnswer {
    fn ask(&mut self, _question: &str) -> Answer {
        self.0
    }
}

/// Prints each line to stdout as it comes, warnings to stderr.
#[derive(Debug, Default)]
pub struct StdoutReporter;

impl Reporter for StdoutReporter {
    fn line(&mut self, text: &str) {
        println!("{text}");
    }
    fn warning(&mut self, text: &str) {
        eprintln!("{text}");
    }
}

/// Asks on the terminal; `--yes` answers for the user; without a terminal
/// (CI, pipes) the answer is [`Answer::NoTerminal`], never a silent yes and
/// never a prompt nobody can answer.
#[derive(Debug, Clone, Copy)]
pub struct TerminalApprover {
    pub assume_yes: bool,
}

impl Approver for TerminalApprover {
    fn ask(&mut self, question: &str) -> Answer {
        use std::io::{BufRead, IsTerminal, Write};
        if self.assume_yes {
            return Answer::Yes;
        }
        let stdin = std::io::stdin();
        if !stdin.is_terminal() || !std::io::stderr().is_terminal() {
            return Answer::NoTerminal;
        }
        eprint!("{question} [y/N] ");
        let _ = std::io::stderr().flush();
        let mut reply = String::new();
        match stdin.lock().read_line(&mut reply) {
            Ok(_) if matches!(reply.trim().to_ascii_lowercase().as_str(), "y" | "yes") => {
                Answer::Yes
            }
            _ => Answer::No,
        }
    }
}

/// Resolves on Ctrl-C. If the signal handler cannot be installed it never
/// resolves (waiting carries on) rather than reporting a false interrupt.
pub async fn ctrl_c() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// An error and its causes on one line (`deploy dev: create change set:
/// ...`), leaving out a cause whose text the one before already holds: many
/// errors quote their source, and a person should read each cause once.
pub fn one_line(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cause = Some(error);
    while let Some(current) = cause {
        let text = current.to_string();
        if !parts
            .last()
            .is_some_and(|previous| previous.contains(&text))
        {
            parts.push(text);
        }
        cause = current.source();
    }
    parts.join(": ")
}
