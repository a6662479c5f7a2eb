//! Hand-built manifests with every setting, and rendering with fixed options.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use procmux::export::systemd::{self, AppName, FindProgram, Rendered, SystemdOptions, UnitScope};
use procmux::manifest::{
    Condition, Dependency, InstanceSpec, Manifest, ProcessCommand, ProcessSpec, ReadyCheck,
    ReadyKind, RestartPolicy, Settings,
};
use procmux::supervisor::Signal;

/// Finds every bare program in `/bin`, without looking: snapshots must not depend on the
/// machine's PATH.
pub struct InBin;

impl FindProgram for InBin {
    fn find(&self, name: &str) -> Option<PathBuf> {
        Some(Path::new("/bin").join(name))
    }
}

/// The command that the nasty-command tests care about: specifiers, variables, both quotes,
/// backslashes, a tab, a newline, non-ASCII.
pub const NASTY_COMMAND: &str =
    "exec bin/web --greeting \"it's 100% fine\" --home $HOME ${X} $$ \\ 'a  b'\t%n\n# é line 2\\";

/// The folder of `web` under the root: `WorkingDirectory=` takes it literally but for `%`.
pub const WEB_DIR: &str = "web 100% it's \"here\"";

/// An env value with the same kind of characters.
pub const NASTY_VALUE: &str = "100% $HOME ${X} \"q\" 'x' \\ \n\ttab é %%";

pub fn shell(command: &str) -> ProcessCommand {
    ProcessCommand::Shell {
        shell: "sh".into(),
        command: command.into(),
    }
}

pub fn exec(program: &str, args: &[&str]) -> ProcessCommand {
    ProcessCommand::Exec {
        program: program.into(),
        args: args.iter().map(|a| (*a).to_owned()).collect(),
    }
}

pub fn ready(kind: ReadyKind) -> ReadyCheck {
    ReadyCheck {
        kind,
        initial_delay: ReadyCheck::DEFAULT_INITIAL_DELAY,
        interval: ReadyCheck::DEFAULT_INTERVAL,
        attempt_timeout: ReadyCheck::DEFAULT_ATTEMPT_TIMEOUT,
        timeout: ReadyCheck::DEFAULT_TIMEOUT,
    }
}

pub fn depends(process: &str, condition: Condition) -> Dependency {
    Dependency {
        process: process.into(),
        condition,
    }
}

/// A process with `count` instances of `base`, numbered and with PORT and PS as procmux
/// resolves them.
pub fn process(index: usize, count: u32, base: InstanceSpec) -> ProcessSpec {
    let name = base.process.clone();
    let instances = (1..=count)
        .map(|i| {
            let mut instance = base.clone();
            instance.index = i;
            instance.display_name = if count > 1 {
                format!("{name}.{i}")
            } else {
                name.clone()
            };
            let port = 5000 + 100 * index as u32 + i - 1;
            instance.env.insert("PORT".into(), port.to_string());
            instance.env.insert("PS".into(), format!("{name}.{i}"));
            instance
        })
        .collect();
    ProcessSpec {
        name,
        index,
        instances,
    }
}

pub fn instance(name: &str, command: ProcessCommand, cwd: &Path) -> InstanceSpec {
    InstanceSpec {
        process: name.into(),
        index: 1,
        display_name: name.into(),
        command,
        cwd: cwd.to_path_buf(),
        env: BTreeMap::new(),
        stop_signal: Signal::Terminate,
        stop_timeout: Duration::from_secs(5),
        restart: RestartPolicy::No,
        max_restarts: None,
        can_die: false,
        autostart: true,
        color: None,
        depends_on: Vec::new(),
        ready: None,
        watch: Vec::new(),
        watch_ignore: Vec::new(),
    }
}

/// A stack that uses every setting the export maps: each restart policy, `max_restarts`
/// (0 and more), each `depends_on` condition, each kind of `ready` check with its timings,
/// several instances, `autostart = false`, string and array commands, a relative program,
/// and commands and values full of characters that need escaping.
///
/// `root` holds `bin/migrate` and `WEB_DIR`, which the verify tests create.
pub fn full_manifest(root: &Path) -> Manifest {
    let mut db = instance("db", shell("postgres -D .data -p $PORT"), root);
    db.ready = Some(ready(ReadyKind::Tcp {
        host: "127.0.0.1".into(),
        port: 5000,
    }));
    db.stop_signal = Signal::Interrupt;
    db.stop_timeout = Duration::from_secs(10);
    db.restart = RestartPolicy::Always;
    db.max_restarts = Some(3);

    let mut migrate = instance("migrate", exec("bin/migrate", &["--all", "it's"]), root);
    migrate.depends_on = vec![depends("db", Condition::Ready)];
    migrate.restart = RestartPolicy::Always;
    migrate.ready = Some(ready(ReadyKind::Exec {
        command: shell("test -f .migrated"),
    }));

    let mut web = instance("web", shell(NASTY_COMMAND), &root.join(WEB_DIR));
    web.depends_on = vec![
        depends("db", Condition::Ready),
        depends("migrate", Condition::Completed),
    ];
    web.env.insert("WEIRD".into(), NASTY_VALUE.into());
    web.env.insert("EMPTY".into(), String::new());
    web.restart = RestartPolicy::OnFailure;
    web.stop_timeout = Duration::from_millis(1500);
    web.ready = Some(ReadyCheck {
        kind: ReadyKind::Http {
            host: "::1".into(),
            port: 5200,
            path: "/up?full=1".into(),
        },
        initial_delay: Duration::from_millis(500),
        interval: Duration::from_millis(100),
        attempt_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(120),
    });

    let mut worker = instance("worker", exec("sh", &["-c", "exec sleep 100"]), root);
    worker.depends_on = vec![depends("web", Condition::Started)];
    worker.ready = Some(ready(ReadyKind::Log {
        text: "Booted \"Sidekiq\"".into(),
    }));
    worker.restart = RestartPolicy::OnFailure;
    worker.max_restarts = Some(0);
    worker.stop_signal = Signal::Quit;
    worker.stop_timeout = Duration::ZERO;

    let mut admin = instance("admin", exec("/bin/sleep", &["infinity"]), root);
    admin.autostart = false;
    admin.can_die = true;
    admin.ready = Some(ready(ReadyKind::Exec {
        command: exec("test", &["-d", "/"]),
    }));

    Manifest {
        settings: Settings {
            root: root.to_path_buf(),
            timestamps: None,
            watch_debounce: Duration::from_millis(100),
            env: BTreeMap::new(),
        },
        processes: vec![
            process(0, 1, db),
            process(1, 1, migrate),
            process(2, 2, web),
            process(3, 1, worker),
            process(4, 1, admin),
        ],
    }
}

pub fn options(app: &str, scope: UnitScope, procmux: &Path) -> SystemdOptions {
    SystemdOptions {
        app: AppName::new(app).expect("valid app name"),
        scope,
        source: PathBuf::from("/srv/shop/procmux.toml"),
        procmux: procmux.to_path_buf(),
    }
}

pub fn system() -> UnitScope {
    UnitScope::System {
        user: "deploy".into(),
    }
}

/// Renders with the snapshot options: app `shop`, user `deploy`, procmux in /usr/bin, every
/// bare program in /bin.
pub fn render_for_snapshot(manifest: &Manifest, scope: UnitScope) -> Rendered {
    let options = options("shop", scope, Path::new("/usr/bin/procmux"));
    systemd::render(manifest, &options, &InBin).unwrap_or_else(|e| panic!("render: {e}"))
}

/// Every file of a rendering as one text, for a snapshot.
pub fn all_files(rendered: &Rendered) -> String {
    let mut out = String::new();
    for file in &rendered.files {
        out.push_str(&format!("===== {}\n{}", file.name, file.contents));
    }
    if !rendered.notes.is_empty() {
        out.push_str("===== notes\n");
        for note in &rendered.notes {
            out.push_str(&format!("{note}\n"));
        }
    }
    out
}
