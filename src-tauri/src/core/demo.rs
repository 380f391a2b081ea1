//! Demo mode: the embedded simulator and the temp dir that holds the demo's data.

#[allow(unused_imports)]
use super::*;

/// The embedded simulator of demo mode, and the temp dir that holds the demo's data.
pub struct Demo {
    pub sim: askara_sim::SimHandle,
    generator: JoinHandle<()>,
    pub(super) dir: tempfile::TempDir,
}

impl Demo {
    /// Starts the simulator with `notes` notes and one more every `every`, auto-approving device
    /// sign-ins. Must run inside a Tokio runtime.
    pub async fn start(every: std::time::Duration, notes: usize) -> Result<Demo, CmdError> {
        let dir = tempfile::Builder::new()
            .prefix("askara-inbox-demo-")
            .tempdir()
            .map_err(|e| {
                CmdError::new("io", format!("cannot create a temp dir for the demo: {e}"))
            })?;
        let cfg = askara_sim::SimConfig {
            device_auto_approve: true,
            device_poll_interval_secs: 1,
            ..Default::default()
        };
        let sim = askara_sim::SimHandle::start(cfg)
            .await
            .map_err(|e| CmdError::new("io", format!("cannot start the demo simulator: {e}")))?;
        let seed = 20_260_224;
        sim.add_generated(notes, seed);
        let generator = sim.spawn_generator(every, seed);
        Ok(Demo {
            sim,
            generator,
            dir,
        })
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Settings pointing at the simulator and a demo practice database in the temp dir.
    pub fn settings(&self) -> Settings {
        let cfg = self.sim.config();
        Settings {
            base_url: self.sim.base_url(),
            client_id: cfg.client_id,
            interval_secs: 5,
            import_target: format!(
                "sqlite:{}",
                self.dir.path().join("practice-demo.sqlite3").display()
            ),
            ..Settings::default()
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        self.generator.abort();
    }
}
