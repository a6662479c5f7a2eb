//! The `name  | ` prefix: padded to the common width, coloured, rendered once per width.
//!
//! A pump renders its prefix once and copies the bytes in front of every line; it renders again
//! only when a newly registered source widened the common width, so the hot path is a
//! `memcpy`, never a `format!`.

use super::color::RESET;

/// The narrowest prefix: the width of `system`, so procmux's own lines line up with the rest.
pub const MIN_WIDTH: usize = 6;

/// The width a name takes on screen, in chars (display names are expected to be ASCII-ish:
/// `web.1`, `worker`; a double-width glyph would misalign by one column, which is all it costs).
pub fn display_width(name: &str) -> usize {
    name.chars().count()
}

/// Writes the prefix of `name` at `width` into `out`: `<style>name<pad> |<reset> ` with a
/// style, or `name<pad> | ` without.
pub fn render(out: &mut Vec<u8>, name: &str, style: Option<&[u8]>, width: usize) {
    if let Some(style) = style {
        out.extend_from_slice(style);
    }
    out.extend_from_slice(name.as_bytes());
    let pad = width.saturating_sub(display_width(name));
    out.extend(std::iter::repeat_n(b' ', pad));
    out.extend_from_slice(b" |");
    if style.is_some() {
        out.extend_from_slice(RESET);
    }
    out.push(b' ');
}

/// One source's rendered prefix, kept until the common width changes.
#[derive(Debug)]
pub struct PrefixCache {
    /// The display name, as registered.
    name: std::sync::Arc<str>,
    /// The colour escape, or `None` when colour is off.
    style: Option<&'static [u8]>,
    /// The width `bytes` was rendered for; 0 before the first render (no width is 0).
    width: usize,
    /// The rendered prefix.
    bytes: Vec<u8>,
}

impl PrefixCache {
    /// A cache for `name` in `style`; renders on first use.
    pub fn new(name: std::sync::Arc<str>, style: Option<&'static [u8]>) -> Self {
        Self {
            name,
            style,
            width: 0,
            bytes: Vec::new(),
        }
    }

    /// The prefix at `width`, rendered again only if `width` changed since the last call.
    pub fn at_width(&mut self, width: usize) -> &[u8] {
        if width != self.width {
            self.bytes.clear();
            render(&mut self.bytes, &self.name, self.style, width);
            self.width = width;
        }
        &self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mux::color::{Color, SYSTEM_STYLE};

    fn rendered(name: &str, style: Option<&[u8]>, width: usize) -> Vec<u8> {
        let mut out = Vec::new();
        render(&mut out, name, style, width);
        out
    }

    #[test]
    fn plain_prefix_is_padded() {
        assert_eq!(rendered("web.1", None, 6), b"web.1  | ");
        assert_eq!(rendered("worker", None, 6), b"worker | ");
        assert_eq!(rendered("db", None, 10), b"db         | ");
    }

    #[test]
    fn coloured_prefix_wraps_name_and_bar() {
        assert_eq!(
            rendered("web.1", Some(Color::Red.escape()), 6),
            b"\x1b[31mweb.1  |\x1b[0m "
        );
        assert_eq!(
            rendered("system", Some(SYSTEM_STYLE), 8),
            b"\x1b[1msystem   |\x1b[0m "
        );
    }

    #[test]
    fn a_name_longer_than_the_width_is_not_cut() {
        assert_eq!(rendered("very-long-name", None, 6), b"very-long-name | ");
    }

    #[test]
    fn cache_renders_again_when_the_width_grows() {
        let mut cache = PrefixCache::new("web".into(), None);
        assert_eq!(cache.at_width(6), b"web    | ");
        assert_eq!(cache.at_width(6), b"web    | ");
        assert_eq!(cache.at_width(9), b"web       | ");
    }
}
