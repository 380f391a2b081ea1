//! What every module of this test binary shares: the binary under test and a finished run.

pub const BIN: &str = env!("CARGO_BIN_EXE_askara-inbox");

/// A finished run of the binary: exit status (-1 when killed by a signal) and its output.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<std::process::Output> for Run {
    fn from(out: std::process::Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}
