//! Snapshots of rendered errors and warnings: what the user sees on stderr.

use crate::support::Project;

fn render_toml(text: &str) -> String {
    Project::toml(text).error().render()
}

#[test]
fn unknown_key_with_suggestion() {
    insta::assert_snapshot!(render_toml(
        "[settings]\nport = 5000\n\n[processes.web]\ncommand = \"x\"\ninstances = 2\ncomand = \"x\"\n"
    ));
}

#[test]
fn unknown_top_level_table() {
    insta::assert_snapshot!(render_toml("[process.web]\ncommand = \"x\"\n"));
}

#[test]
fn wrong_type_points_at_the_value() {
    insta::assert_snapshot!(render_toml(
        "[processes.web]\ncommand = \"x\"\nstop_timeout = \"5 seconds please\"\n"
    ));
}

#[test]
fn missing_env_file_points_at_its_name() {
    insta::assert_snapshot!(render_toml(
        "[processes.web]\ncommand = \"x\"\nenv_file = [\".env\", \".env.web\"]\n"
    ));
}

#[test]
fn syntax_error() {
    insta::assert_snapshot!(render_toml("[processes.web]\ncommand = \"unterminated\n"));
}

#[test]
fn two_digit_line_numbers() {
    let mut text = "# padding\n".repeat(11);
    text.push_str("[processes.web]\n\tcommand = \"\"\n");
    insta::assert_snapshot!(render_toml(&text));
}

#[test]
fn dotenv_error() {
    let error = Project::procfile("web: x\n")
        .file(".env", "# settings\nNAME=\"value\" trailing\n")
        .error();
    insta::assert_snapshot!(error.render());
}

#[test]
fn procfile_duplicate() {
    insta::assert_snapshot!(
        Project::procfile("web: a\nworker: b\nweb: c\n")
            .error()
            .render()
    );
}

#[test]
fn procfile_warning() {
    let loaded = Project::procfile("web: a\n  worker: b\n").load();
    let rendered: String = loaded.warnings.iter().map(|w| w.render()).collect();
    insta::assert_snapshot!(rendered);
}

#[test]
fn formation_typo() {
    let error = Project::procfile("web: a\nworker: b\n")
        .with(|o| o.formation = Some("wrker=2".parse().expect("formation")))
        .error();
    insta::assert_snapshot!(error.render());
}

#[test]
fn no_manifest() {
    insta::assert_snapshot!(Project::new().error().render());
}

#[test]
fn dependency_cycle() {
    insta::assert_snapshot!(render_toml(
        "[processes.web]\ncommand = \"x\"\ndepends_on = [\"api\"]\n\n[processes.api]\ncommand = \"x\"\ndepends_on = { web = \"started\" }\n"
    ));
}

#[test]
fn unknown_dependency() {
    insta::assert_snapshot!(render_toml(
        "[processes.db]\ncommand = \"x\"\n\n[processes.web]\ncommand = \"x\"\ndepends_on = [\"bd\"]\n"
    ));
}

#[test]
fn two_checks_in_one_ready_table() {
    insta::assert_snapshot!(render_toml(
        "[processes.db]\ncommand = \"x\"\nready = { tcp = \"$PORT\", log = \"ready\" }\n"
    ));
}

#[test]
fn https_ready_check() {
    insta::assert_snapshot!(render_toml(
        "[processes.web]\ncommand = \"x\"\nready.http = \"https://127.0.0.1:$PORT/up\"\n"
    ));
}

#[test]
fn reserved_name() {
    insta::assert_snapshot!(Project::procfile("web: a\nsystem: b\n").error().render());
}

#[test]
fn load_warnings() {
    let loaded = Project::toml(
        "[env]\nGREETING = \"Hello ${UNDEFINED}!\"\n\n[processes.web]\ncommand = \"x\"\ncwd = \"services/web\"\nport = 65535\ninstances = 2\n",
    )
    .file(".env", "PASSWORD=pa$$word\n")
    .load();
    let rendered: String = loaded.warnings.iter().map(|w| w.render()).collect();
    insta::assert_snapshot!(rendered);
}
