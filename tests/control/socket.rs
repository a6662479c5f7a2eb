//! The socket's place and modes, a stale socket, a second server, unsafe folders, and a
//! client of another uid.

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use procmux::control::{BindError, Client, ClientError, FolderProblem, Server, SocketEnv};

use crate::support::Fixture;

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path).unwrap().mode() & 0o7777
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn the_socket_is_0600_in_a_0700_folder_and_removed_with_the_server() {
    let mut fixture = Fixture::start("");
    let folder = fixture.runtime_dir.path().join("procmux");
    assert_eq!(fixture.socket.parent(), Some(folder.as_path()));
    assert!(
        fixture
            .socket
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .ends_with(".sock")
    );
    assert_eq!(mode(&folder), 0o700);
    assert_eq!(mode(&fixture.socket), 0o600);
    assert!(
        std::fs::symlink_metadata(&fixture.socket)
            .unwrap()
            .file_type()
            .is_socket()
    );
    fixture.stop_server();
    assert!(!fixture.socket.exists());
    // Nothing else is left in the folder (the lock file goes too).
    assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 0);
}

#[test]
fn a_second_server_is_refused_with_the_pid() {
    let fixture = Fixture::start("");
    let error = Server::bind(&fixture.manifest(), &fixture.env()).unwrap_err();
    let canonical = std::fs::canonicalize(fixture.manifest()).unwrap();
    match error {
        BindError::AlreadyRunning { pid, manifest } => {
            assert_eq!(pid, Some(std::process::id()));
            assert_eq!(manifest, canonical);
        }
        other => panic!("{other:?}"),
    }
    // The refused bind did not touch the live socket.
    let mut out = Vec::new();
    fixture
        .block_on(procmux::cli::client::status(
            &fixture.target(),
            false,
            &mut out,
        ))
        .unwrap();
}

#[test]
fn a_stale_socket_is_replaced() {
    let project = tempfile::tempdir().unwrap();
    let runtime_dir = tempfile::tempdir().unwrap();
    let manifest = project.path().join("procmux.toml");
    std::fs::write(&manifest, "").unwrap();
    let env = SocketEnv::in_runtime_dir(runtime_dir.path());
    // A server that died without cleaning up: its socket file stays, nobody listens.
    let server = Server::bind(&manifest, &env).unwrap();
    let socket = server.socket().to_path_buf();
    drop(server);
    let dead = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    drop(dead);
    assert!(socket.exists());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        assert!(matches!(
            Client::connect(&manifest, &env).await,
            Err(ClientError::NotRunning { .. })
        ));
    });
    let server = Server::bind(&manifest, &env).unwrap();
    assert_eq!(server.socket(), socket);
    assert_eq!(mode(&socket), 0o600);
}

#[test]
fn unsafe_folders_are_refused_by_server_and_client() {
    let project = tempfile::tempdir().unwrap();
    let runtime_dir = tempfile::tempdir().unwrap();
    let manifest = project.path().join("procmux.toml");
    std::fs::write(&manifest, "").unwrap();
    let env = SocketEnv::in_runtime_dir(runtime_dir.path());
    let folder = runtime_dir.path().join("procmux");
    std::fs::create_dir(&folder).unwrap();
    chmod(&folder, 0o777);
    match Server::bind(&manifest, &env).unwrap_err() {
        BindError::UnsafeFolder { dir, problem } => {
            assert_eq!(dir, folder);
            assert_eq!(problem, FolderProblem::Writable(0o777));
        }
        other => panic!("{other:?}"),
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        assert!(matches!(
            Client::connect(&manifest, &env).await,
            Err(ClientError::UnsafeFolder { .. })
        ));
    });
    // Someone else's folder: checked as another uid, since the test cannot give it away.
    chmod(&folder, 0o700);
    let other = SocketEnv {
        uid: env.uid + 1,
        ..env.clone()
    };
    assert!(matches!(
        Server::bind(&manifest, &other),
        Err(BindError::UnsafeFolder {
            problem: FolderProblem::OwnedBy(_),
            ..
        })
    ));
    // A symlink in its place.
    std::fs::remove_dir(&folder).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), &folder).unwrap();
    assert!(matches!(
        Server::bind(&manifest, &env),
        Err(BindError::UnsafeFolder {
            problem: FolderProblem::Symlink,
            ..
        })
    ));
}

#[test]
fn a_client_of_another_uid_is_refused() {
    let python = Path::new("/usr/bin/python3");
    let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"]
        .into_iter()
        .map(Path::new)
        .find(|path| path.exists());
    let (Some(setpriv), true) = (setpriv, python.exists()) else {
        eprintln!("skipped: needs setpriv and /usr/bin/python3");
        return;
    };
    if nix::unistd::geteuid().as_raw() != 0 {
        eprintln!("skipped: needs root to run a client as nobody");
        return;
    }
    let fixture = Fixture::start("");
    // Let nobody reach the socket, so that only the peer check stands in the way.
    chmod(fixture.runtime_dir.path(), 0o711);
    chmod(fixture.socket.parent().unwrap(), 0o711);
    chmod(&fixture.socket, 0o666);
    let script = "import socket, sys\n\
                  s = socket.socket(socket.AF_UNIX)\n\
                  s.connect(sys.argv[1])\n\
                  s.sendall(b'{\"v\":1,\"type\":\"status\"}\\n')\n\
                  sys.stdout.write(s.makefile('rb').read().decode())\n";
    let output = Command::new(setpriv)
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
        .arg(python)
        .args(["-c", script])
        .arg(&fixture.socket)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{:?}: {stdout} {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        stdout,
        "{\"v\":1,\"type\":\"error\",\"kind\":\"permission_denied\",\"message\":\"this procmux belongs to another user\"}\n"
    );
    assert_eq!(fixture.verbs(), [], "the coordinator heard nothing");
}
