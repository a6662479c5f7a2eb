//! Manifests the export cannot render faithfully are errors that name the instance and the
//! setting, never units that would run something else.

use std::path::Path;

use procmux::export::ExportError;
use procmux::export::systemd::{self, EscapeError, SearchPath};
use procmux::manifest::Manifest;

use crate::support::{InBin, exec, full_manifest, instance, options, process, shell, system};

fn render(manifest: &Manifest) -> Result<(), ExportError> {
    let options = options("shop", system(), Path::new("/usr/bin/procmux"));
    systemd::render(manifest, &options, &InBin).map(drop)
}

fn one(edit: impl FnOnce(&mut procmux::manifest::InstanceSpec)) -> Manifest {
    let mut manifest = full_manifest(Path::new("/srv/shop"));
    let mut web = instance("web", shell("true"), Path::new("/srv/shop"));
    edit(&mut web);
    manifest.processes = vec![process(0, 1, web)];
    manifest
}

#[test]
fn values_systemd_cannot_hold() {
    let error = render(&one(|web| {
        web.env.insert("A".into(), "x\0y".into());
    }));
    assert_eq!(
        error,
        Err(ExportError::Value {
            instance: "web".into(),
            setting: "Environment= A".into(),
            source: EscapeError::Nul,
        })
    );
    let error = render(&one(|web| {
        web.env.insert("A.B".into(), "x".into());
    }))
    .expect_err("bad name");
    assert_eq!(
        error.to_string(),
        "web: Environment= A.B cannot be exported: systemd accepts only names of letters, digits and underscores, not starting with a digit"
    );
    let error = render(&one(|web| web.cwd = "/srv/a\nb".into())).expect_err("newline");
    assert!(
        error.to_string().starts_with("web: cwd cannot be exported"),
        "{error}"
    );
}

#[test]
fn programs_must_resolve() {
    let manifest = one(|web| web.command = exec("no-such-program-procmux", &[]));
    let options = options("shop", system(), Path::new("/usr/bin/procmux"));
    let search = SearchPath {
        dirs: vec!["/nonexistent".into()],
    };
    assert_eq!(
        systemd::render(&manifest, &options, &search),
        Err(ExportError::ProgramNotFound {
            instance: "web".into(),
            program: "no-such-program-procmux".into(),
        })
    );
}

#[test]
fn unit_names_must_not_clash() {
    let mut manifest = full_manifest(Path::new("/srv/shop"));
    let web = instance("web", shell("true"), Path::new("/srv/shop"));
    let web_1 = instance("web-1", shell("true"), Path::new("/srv/shop"));
    manifest.processes = vec![process(0, 2, web), process(1, 1, web_1)];
    assert_eq!(
        render(&manifest),
        Err(ExportError::NameClash {
            unit: "shop-web-1.service".into(),
            first: "web.1".into(),
            second: "web-1".into(),
        })
    );
}
