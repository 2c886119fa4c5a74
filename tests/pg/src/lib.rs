//! A real PostgreSQL server for tests (the store's unit tests and the multi-process suites): one cluster per test process in a temporary
//! directory, reached over a Unix socket there (no port to collide on), one fresh database per
//! caller. Binaries come from `RULEBOX_PG_BIN` or Debian's `/usr/lib/postgresql/*/bin`
//! (`scripts/setup.sh` installs the package); a machine without them fails the test with
//! that message rather than skipping it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct Postgres {
    bin: PathBuf,
    dir: PathBuf,
}

static CLUSTER: OnceLock<Postgres> = OnceLock::new();
static NEXT_DB: AtomicUsize = AtomicUsize::new(0);

fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("RULEBOX_PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path().join("bin"))
                .filter(|bin| bin.join("initdb").exists())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found.pop().unwrap_or_else(|| {
        panic!(
            "PostgreSQL server binaries not found: install the `postgresql` package \
             (scripts/setup.sh does) or set RULEBOX_PG_BIN"
        )
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// `initdb` and `postgres` refuse to run as root; run them as the `postgres` user then.
fn server_command(bin: &Path, tool: &str) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin.join(tool));
        c
    } else {
        Command::new(bin.join(tool))
    }
}

fn run(mut c: Command, what: &str) {
    let out = c
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Postgres {
    /// The process's cluster, started on first use.
    pub fn get() -> &'static Postgres {
        CLUSTER.get_or_init(Postgres::start)
    }

    fn start() -> Postgres {
        let bin = bin_dir();
        // Short path: a Unix socket path must stay under 108 bytes.
        let dir = tempfile::Builder::new()
            .prefix("rbpg")
            .tempdir_in("/tmp")
            .expect("tempdir")
            .keep();
        if is_root() {
            run(
                {
                    let mut c = Command::new("chown");
                    c.args(["postgres:postgres"]).arg(&dir);
                    c
                },
                "chown",
            );
        }
        let data = dir.join("data");
        let mut initdb = server_command(&bin, "initdb");
        initdb
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "rulebox",
                "--auth=trust",
                "--no-sync",
                "--encoding=UTF8",
            ])
            .args(["--locale=C.UTF-8"]);
        run(initdb, "initdb");
        let opts = format!(
            "-c listen_addresses='' -k {} -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off -c max_connections=200",
            dir.display()
        );
        let mut start = server_command(&bin, "pg_ctl");
        start
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(dir.join("server.log"))
            .args(["-w", "-o", &opts, "start"]);
        run(start, "pg_ctl start");
        // Stop the server and remove its files when this test process ends, however it
        // ends (a panic does not run a static's Drop; SIGKILL runs nothing).
        // It runs as this process's user: `kill -0` from another user would fail at once.
        // Never waited for on purpose: it must outlive this process.
        let stop = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; \
             {as_owner}{ctl} -D {data} -m immediate -w stop >/dev/null 2>&1; rm -rf {dir}",
            pid = std::process::id(),
            as_owner = if is_root() {
                "runuser -u postgres -- "
            } else {
                ""
            },
            ctl = bin.join("pg_ctl").display(),
            data = data.display(),
            dir = dir.display(),
        );
        #[allow(clippy::zombie_processes)]
        Command::new("sh")
            .args(["-c", &stop])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cleanup watchdog");
        Postgres { bin, dir }
    }

    /// A new, empty database; its `postgres://` URL.
    pub fn database(&self) -> String {
        let name = format!(
            "t{}_{}",
            std::process::id(),
            NEXT_DB.fetch_add(1, Ordering::Relaxed)
        );
        let mut psql = Command::new(self.bin.join("psql"));
        psql.arg("-h")
            .arg(&self.dir)
            .args(["-U", "rulebox", "-d", "postgres", "-q", "-c"])
            .arg(format!("CREATE DATABASE {name}"));
        run(psql, "CREATE DATABASE");
        format!(
            "postgres://rulebox@localhost/{name}?host={}",
            self.dir.display()
        )
    }
}

/// A sealing key for every node of one test deployment (PostgreSQL stores need one in the
/// environment: there is no shared disk for a key file).
pub const SECRETS_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
