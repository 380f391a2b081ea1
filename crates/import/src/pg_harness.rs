//! A throwaway PostgreSQL server for tests (feature `test-support`).
//!
//! Finds the newest `/usr/lib/postgresql/<version>/bin` (or `$PG_BIN`), runs `initdb` into a
//! temp dir with password (SCRAM) authentication over TCP, starts `postgres` on a free
//! loopback port, creates the database `askara_test`, and stops the server on drop. As root,
//! the server binaries run as the `postgres` system user (initdb refuses root). Missing
//! binaries are an error with a clear message, never a silent skip.

#![allow(clippy::print_stdout)]

use std::io;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const USER: &str = "askara";
pub const PASSWORD: &str = "s3cret-test-pw";
pub const DATABASE: &str = "askara_test";

/// How the server authenticates TCP connections (`pg_hba.conf`'s method for `host`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostAuth {
    /// SCRAM-SHA-256: the password never crosses the wire.
    Scram,
    /// MD5, with the password stored as MD5 (otherwise PostgreSQL would use SCRAM anyway).
    Md5,
    /// The password in clear text.
    Password,
}

pub struct TestPostgres {
    /// `postgres://askara:PASSWORD@127.0.0.1:PORT/askara_test?sslmode=disable`, for test
    /// clients that talk to the server directly (`tokio_postgres::connect`); a target refuses
    /// a password in its URL, so targets use `url_without_password` and `with_password`.
    pub url: String,
    /// The same without password (it then comes from `PASSWORD` / `with_password`).
    pub url_without_password: String,
    pub port: u16,
    pub password: String,
    /// With `start_tls`: the CA certificate, for `sslrootcert`.
    pub ca_cert: Option<PathBuf>,
    bin: PathBuf,
    dir: tempfile::TempDir,
    child: Option<Child>,
    tls: bool,
    durable: bool,
}

fn bin_dir() -> io::Result<PathBuf> {
    if let Some(b) = std::env::var_os("PG_BIN") {
        return Ok(PathBuf::from(b));
    }
    let root = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .map_err(|_| not_installed())?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("postgres").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, b)| b).ok_or_else(not_installed)
}

fn not_installed() -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin: install them \
         (apt-get install postgresql) or set PG_BIN; these tests need a real server",
    )
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0"))
        .unwrap_or(false)
}

/// A command for a server binary, run as `postgres` when we are root.
fn server_cmd(bin: &Path, name: &str) -> Command {
    let exe = bin.join(name);
    if is_root() {
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=postgres",
            "--regid=postgres",
            "--init-groups",
            "--",
        ])
        .arg(exe);
        c
    } else {
        Command::new(exe)
    }
}

fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn run(mut c: Command, what: &str) -> io::Result<()> {
    let out = c.stdin(Stdio::null()).output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "{what} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(())
}

impl TestPostgres {
    /// A server without TLS.
    pub fn start() -> io::Result<TestPostgres> {
        Self::start_inner(false, false, HostAuth::Scram)
    }

    /// A server without TLS whose TCP connections authenticate with `auth`.
    pub fn start_with_auth(auth: HostAuth) -> io::Result<TestPostgres> {
        Self::start_inner(false, false, auth)
    }

    /// A server without TLS and with `fsync` on (the others run with `fsync=off` for speed),
    /// for benchmarks whose commit latency should be honest.
    pub fn start_durable() -> io::Result<TestPostgres> {
        Self::start_inner(false, true, HostAuth::Scram)
    }

    /// A server with TLS on, its certificate for `localhost` only, signed by a throwaway CA
    /// (made with `openssl req` / `openssl x509`; `ca_cert` is the CA), so `verify-full` passes for host `localhost` and fails for `127.0.0.1`.
    pub fn start_tls() -> io::Result<TestPostgres> {
        Self::start_inner(true, false, HostAuth::Scram)
    }

    fn start_inner(tls: bool, durable: bool, auth: HostAuth) -> io::Result<TestPostgres> {
        let bin = bin_dir()?;
        let dir = tempfile::Builder::new().prefix("askara-pg-").tempdir()?;
        let root = is_root();
        if root {
            run(
                {
                    let mut c = Command::new("chown");
                    c.arg("-R").arg("postgres:postgres").arg(dir.path());
                    c
                },
                "chown",
            )?;
        }
        let pwfile = dir.path().join("pw");
        std::fs::write(&pwfile, PASSWORD)?;
        if root {
            run(
                {
                    let mut c = Command::new("chown");
                    c.arg("postgres:postgres").arg(&pwfile);
                    c
                },
                "chown",
            )?;
        }
        let data = dir.path().join("data");
        let mut init = server_cmd(&bin, "initdb");
        init.arg("-D")
            .arg(&data)
            .args([
                "-U",
                USER,
                "--auth-local=trust",
                match auth {
                    HostAuth::Scram => "--auth-host=scram-sha-256",
                    HostAuth::Md5 => "--auth-host=md5",
                    HostAuth::Password => "--auth-host=password",
                },
                "-E",
                "UTF8",
                "--no-sync",
            ])
            .arg(format!("--pwfile={}", pwfile.display()));
        run(init, "initdb")?;
        let mut ca_cert = None;
        if tls {
            let crt = dir.path().join("server.crt");
            let key = dir.path().join("server.key");
            let ca = dir.path().join("ca.crt");
            let ca_key = dir.path().join("ca.key");
            let csr = dir.path().join("server.csr");
            let ext = dir.path().join("server.ext");
            std::fs::write(&ext, "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")?;
            let mut c = Command::new("openssl");
            c.args([
                "req",
                "-new",
                "-x509",
                "-days",
                "2",
                "-nodes",
                "-newkey",
                "rsa:2048",
                "-subj",
                "/CN=Askara Test CA",
            ])
            .arg("-keyout")
            .arg(&ca_key)
            .arg("-out")
            .arg(&ca);
            run(c, "openssl req for the CA (is openssl installed?)")?;
            let mut c = Command::new("openssl");
            c.args([
                "req",
                "-new",
                "-nodes",
                "-newkey",
                "rsa:2048",
                "-subj",
                "/CN=localhost",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&csr);
            run(c, "openssl req for the server")?;
            let mut c = Command::new("openssl");
            c.args(["x509", "-req", "-days", "2", "-in"])
                .arg(&csr)
                .arg("-CA")
                .arg(&ca)
                .arg("-CAkey")
                .arg(&ca_key)
                .args(["-CAcreateserial", "-extfile"])
                .arg(&ext)
                .arg("-out")
                .arg(&crt);
            run(c, "openssl x509 signing the server certificate")?;
            if root {
                let mut c = Command::new("chown");
                c.arg("postgres:postgres").arg(&crt).arg(&key);
                run(c, "chown")?;
            }
            let mut c = Command::new("chmod");
            c.arg("600").arg(&key);
            run(c, "chmod")?;
            let conf = format!(
                "ssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\n",
                crt.display(),
                key.display()
            );
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(data.join("postgresql.conf"))?;
            io::Write::write_all(&mut f, conf.as_bytes())?;
            ca_cert = Some(ca);
        }
        let port = free_port()?;
        let url_without_password =
            format!("postgres://{USER}@127.0.0.1:{port}/{DATABASE}?sslmode=disable");
        let url =
            format!("postgres://{USER}:{PASSWORD}@127.0.0.1:{port}/{DATABASE}?sslmode=disable");
        let mut pg = TestPostgres {
            url,
            url_without_password,
            port,
            password: PASSWORD.to_string(),
            ca_cert,
            bin,
            dir,
            child: None,
            tls,
            durable,
        };
        pg.spawn()?;
        let mut c = Command::new(pg.bin.join("createdb"));
        c.args(["-h"])
            .arg(pg.dir.path())
            .args(["-p", &port.to_string(), "-U", USER, DATABASE]);
        run(c, "createdb")?;
        if auth == HostAuth::Md5 {
            // Store the password as MD5, so that md5 in pg_hba.conf really means MD5.
            let sql =
                format!("SET password_encryption = 'md5'; ALTER ROLE {USER} PASSWORD '{PASSWORD}'");
            run(pg.psql(&sql), "psql storing the password as MD5")?;
        }
        Ok(pg)
    }

    /// `psql` over the local socket (trusted), as the superuser `askara`.
    fn psql(&self, sql: &str) -> Command {
        let mut c = Command::new(self.bin.join("psql"));
        c.arg("-h")
            .arg(self.dir.path())
            .args(["-p", &self.port.to_string(), "-U", USER, "-d", DATABASE])
            .args(["-X", "-v", "ON_ERROR_STOP=1", "-q", "-c", sql]);
        c
    }

    /// Runs SQL as the superuser over the local socket (roles, settings for a test).
    pub fn run_sql(&self, sql: &str) -> io::Result<()> {
        run(self.psql(sql), "psql")
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn spawn(&mut self) -> io::Result<()> {
        let log = std::fs::File::create(self.dir.path().join(format!("server-{}.log", self.port)))?;
        let mut c = server_cmd(&self.bin, "postgres");
        c.arg("-D")
            .arg(self.data_dir())
            .arg("-k")
            .arg(self.dir.path())
            .args(["-p", &self.port.to_string()])
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "max_connections=50",
            ])
            .args([
                "-c",
                if self.durable {
                    "fsync=on"
                } else {
                    "fsync=off"
                },
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let mut child = c.spawn()?;
        let deadline = Instant::now() + Duration::from_secs(30);
        // Ready when the unix socket accepts a startup: pg_isready-like probe via createdb's
        // sibling would need the client package; a socket connect on TCP is enough here,
        // followed by the server's own "ready" line in the log.
        loop {
            if let Some(status) = child.try_wait()? {
                let log = std::fs::read_to_string(
                    self.dir.path().join(format!("server-{}.log", self.port)),
                )
                .unwrap_or_default();
                return Err(io::Error::other(format!(
                    "postgres exited early ({status}): {log}"
                )));
            }
            let log =
                std::fs::read_to_string(self.dir.path().join(format!("server-{}.log", self.port)))
                    .unwrap_or_default();
            if log.contains("ready to accept connections")
                && std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
            {
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return Err(io::Error::other(
                    "postgres did not become ready within 30 s",
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.child = Some(child);
        Ok(())
    }

    /// Fast shutdown (SIGINT): open sessions are terminated and their transactions rolled back.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-INT")
                .arg(child.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                match child.try_wait() {
                    Ok(Some(_)) => break,
                    Ok(None) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(20))
                    }
                    _ => {
                        let _ = child.kill();
                        let _ = child.wait();
                        break;
                    }
                }
            }
        }
    }

    /// Starts the same cluster again on the same port (after `stop`).
    pub fn start_again(&mut self) {
        if self.child.is_none() {
            if let Err(e) = self.spawn() {
                panic!("restarting the test PostgreSQL failed: {e}");
            }
        }
    }

    /// The server's process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Keeps the server (and its files) until process `owner` exits, for a server shared by
    /// a whole test binary and kept in a static, which is never dropped: a small shell waits
    /// for `owner` to go, then stops the server and removes its files.
    pub fn outlive(&mut self, owner: u32) -> io::Result<()> {
        let child = self
            .child
            .take()
            .ok_or_else(|| io::Error::other("the test PostgreSQL is not running"))?;
        let script = format!(
            "while kill -0 {owner} 2>/dev/null; do sleep 1; done; kill -INT {pid}; \
             while kill -0 {pid} 2>/dev/null; do sleep 0.2; done; rm -rf '{dir}'",
            pid = child.id(),
            dir = self.dir.path().display()
        );
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        // The watcher stops it; this value no longer does.
        std::mem::forget(child);
        Ok(())
    }

    /// Whether this server was started with TLS.
    pub fn has_tls(&self) -> bool {
        self.tls
    }

    /// A URL for this server with the given sslmode and host, without password.
    pub fn url_with(&self, host: &str, query: &str) -> String {
        format!("postgres://{USER}@{host}:{}/{DATABASE}?{query}", self.port)
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        self.stop();
    }
}
