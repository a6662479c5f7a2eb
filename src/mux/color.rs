//! Colours: the palette, the stable colour of a name, and whether to colour at all.
//!
//! The palette is our own enum rather than `owo_colors::AnsiColors` so that the manifest layer
//! can parse its colour names (`red` ... `bright_white`) with [`Color::from_name`] and so that
//! the escape bytes are fixed and testable. The decision to colour is a pure function of the
//! flag, the two environment variables and whether stdout is a terminal, so the whole table is
//! unit-tested without touching the process environment.

use std::ffi::OsStr;

/// One of the 16 standard ANSI foreground colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // The names say it all.
pub enum Color {
    Black,
    Red,
    Green,
    Yellow,
    Blue,
    Magenta,
    Cyan,
    White,
    BrightBlack,
    BrightRed,
    BrightGreen,
    BrightYellow,
    BrightBlue,
    BrightMagenta,
    BrightCyan,
    BrightWhite,
}

/// The colours a name may be hashed to: readable on dark and light backgrounds, so no black,
/// white or grey, which vanish on one or the other.
const HASH_PALETTE: [Color; 10] = [
    Color::Cyan,
    Color::Yellow,
    Color::Green,
    Color::Magenta,
    Color::Blue,
    Color::Red,
    Color::BrightCyan,
    Color::BrightYellow,
    Color::BrightGreen,
    Color::BrightMagenta,
];

impl Color {
    /// All colours with the snake_case names the manifest uses.
    pub const NAMED: [(&'static str, Color); 16] = [
        ("black", Color::Black),
        ("red", Color::Red),
        ("green", Color::Green),
        ("yellow", Color::Yellow),
        ("blue", Color::Blue),
        ("magenta", Color::Magenta),
        ("cyan", Color::Cyan),
        ("white", Color::White),
        ("bright_black", Color::BrightBlack),
        ("bright_red", Color::BrightRed),
        ("bright_green", Color::BrightGreen),
        ("bright_yellow", Color::BrightYellow),
        ("bright_blue", Color::BrightBlue),
        ("bright_magenta", Color::BrightMagenta),
        ("bright_cyan", Color::BrightCyan),
        ("bright_white", Color::BrightWhite),
    ];

    /// The colour called `name` in a manifest (`"bright_red"`), if there is one.
    pub fn from_name(name: &str) -> Option<Color> {
        Self::NAMED
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(_, color)| color)
    }

    /// The colour of a process that names none: a hash of its display name, so the same name
    /// gets the same colour on every run and on every machine (FNV-1a, not std's randomly
    /// seeded hasher).
    pub fn for_name(name: &str) -> Color {
        let hash = name.bytes().fold(0x811c_9dc5_u32, |h, b| {
            (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
        });
        HASH_PALETTE[hash as usize % HASH_PALETTE.len()]
    }

    /// The SGR escape that selects this colour as the foreground.
    pub fn escape(self) -> &'static [u8] {
        match self {
            Color::Black => b"\x1b[30m",
            Color::Red => b"\x1b[31m",
            Color::Green => b"\x1b[32m",
            Color::Yellow => b"\x1b[33m",
            Color::Blue => b"\x1b[34m",
            Color::Magenta => b"\x1b[35m",
            Color::Cyan => b"\x1b[36m",
            Color::White => b"\x1b[37m",
            Color::BrightBlack => b"\x1b[90m",
            Color::BrightRed => b"\x1b[91m",
            Color::BrightGreen => b"\x1b[92m",
            Color::BrightYellow => b"\x1b[93m",
            Color::BrightBlue => b"\x1b[94m",
            Color::BrightMagenta => b"\x1b[95m",
            Color::BrightCyan => b"\x1b[96m",
            Color::BrightWhite => b"\x1b[97m",
        }
    }
}

/// The escape that styles the `system` prefix: bold in the terminal's own colour, so it stands
/// apart from every process colour.
pub const SYSTEM_STYLE: &[u8] = b"\x1b[1m";

/// The escape that ends a coloured prefix.
pub const RESET: &[u8] = b"\x1b[0m";

/// The `--color` flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal, unless `NO_COLOR` or `CLICOLOR_FORCE` say otherwise.
    #[default]
    Auto,
    /// Always colour (the user asked explicitly, so the environment is not consulted).
    Always,
    /// Never colour.
    Never,
}

/// Decides whether to colour: pure, so the decision table is testable.
///
/// An explicit `--color always|never` wins over the environment (the user said so on this very
/// command line). Under `auto`: `NO_COLOR` set to anything non-empty turns colour off (as
/// <https://no-color.org> asks; an empty value counts as unset); otherwise `CLICOLOR_FORCE` set
/// to anything but empty or `0` turns it on; otherwise colour only when stdout is a terminal.
pub fn resolve(
    choice: ColorChoice,
    no_color: Option<&OsStr>,
    clicolor_force: Option<&OsStr>,
    is_terminal: bool,
) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            if no_color.is_some_and(|v| !v.is_empty()) {
                false
            } else if clicolor_force.is_some_and(|v| !v.is_empty() && v != "0") {
                true
            } else {
                is_terminal
            }
        }
    }
}

/// [`resolve`] with `NO_COLOR` and `CLICOLOR_FORCE` read from this process's environment.
pub fn resolve_from_env(choice: ColorChoice, is_terminal: bool) -> bool {
    resolve(
        choice,
        std::env::var_os("NO_COLOR").as_deref(),
        std::env::var_os("CLICOLOR_FORCE").as_deref(),
        is_terminal,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(s: &'static str) -> Option<&'static OsStr> {
        Some(OsStr::new(s))
    }

    #[test]
    fn decision_table() {
        use ColorChoice::*;
        // (choice, NO_COLOR, CLICOLOR_FORCE, tty) -> colour
        type Row = (
            ColorChoice,
            Option<&'static OsStr>,
            Option<&'static OsStr>,
            bool,
            bool,
        );
        let table: [Row; 14] = [
            (Auto, None, None, true, true),
            (Auto, None, None, false, false),
            (Auto, os("1"), None, true, false),
            (Auto, os(""), None, true, true),
            (Auto, os(""), None, false, false),
            (Auto, None, os("1"), false, true),
            (Auto, None, os("0"), false, false),
            (Auto, None, os(""), false, false),
            (Auto, os("1"), os("1"), true, false),
            (Always, os("1"), None, false, true),
            (Always, None, None, false, true),
            (Never, None, os("1"), true, false),
            (Never, None, None, true, false),
            (Auto, os(""), os("yes"), false, true),
        ];
        for (choice, no_color, force, tty, want) in table {
            assert_eq!(
                resolve(choice, no_color, force, tty),
                want,
                "{choice:?} NO_COLOR={no_color:?} CLICOLOR_FORCE={force:?} tty={tty}"
            );
        }
    }

    #[test]
    fn hash_colour_is_stable() {
        // Fixed values: a change here changes every user's colours, so it must be deliberate.
        let names = ["web.1", "web.2", "worker", "db", "redis", "css", ""];
        let colours: Vec<Color> = names.iter().map(|n| Color::for_name(n)).collect();
        assert_eq!(
            colours,
            [
                Color::Cyan,
                Color::BrightYellow,
                Color::BrightYellow,
                Color::Magenta,
                Color::Cyan,
                Color::Green,
                Color::Yellow,
            ]
        );
        assert!(colours.iter().all(|c| HASH_PALETTE.contains(c)));
        // Neighbouring names do not all collapse onto one colour.
        let distinct: std::collections::HashSet<_> = colours.iter().collect();
        assert!(distinct.len() >= 4, "{colours:?}");
    }

    #[test]
    fn manifest_names_parse() {
        assert_eq!(Color::from_name("red"), Some(Color::Red));
        assert_eq!(Color::from_name("bright_white"), Some(Color::BrightWhite));
        assert_eq!(Color::from_name("Red"), None);
        assert_eq!(Color::from_name("purple"), None);
        assert_eq!(Color::BrightRed.escape(), b"\x1b[91m");
    }
}
