//! A small parser of systemd's rules, written from systemd.syntax(7) "Quoting",
//! systemd.service(5) "Command lines", systemd.exec(5) `Environment=` and systemd.unit(5)
//! "Specifiers", to read the generated units back the way systemd does:
//!
//! - lines: `#`/`;` comments, a line ending in an odd number of backslashes continues;
//! - words: split at unquoted whitespace; `"..."` and `'...'` quote; C escapes decoded in and
//!   out of quotes (`\a \b \f \n \r \t \v \\ \" \' \s \xHH \nnn \uHHHH \UHHHHHHHH`), any other
//!   escape is an error;
//! - specifiers, expanded per word after unquoting: `%%` is `%`; any other specifier is an
//!   error here (the export never writes one);
//! - command lines only, at exec time: a word that is exactly `$NAME` splits the variable's
//!   value, `${NAME}` anywhere is replaced by the value, `$$` is `$`.

use std::collections::BTreeMap;

/// The `Key=value` settings of a unit file, in order, comments dropped, continuations joined.
pub fn settings(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut pending = String::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        if pending.is_empty() && (trimmed.starts_with('#') || trimmed.starts_with(';')) {
            continue;
        }
        let trailing = line.len() - line.trim_end_matches('\\').len();
        if trailing % 2 == 1 {
            pending.push_str(&line[..line.len() - 1]);
            pending.push(' ');
            continue;
        }
        pending.push_str(line);
        let full = std::mem::take(&mut pending);
        if let Some((key, value)) = full.split_once('=') {
            out.push((key.trim().to_owned(), value.trim().to_owned()));
        }
    }
    out
}

/// The values of every `key=` setting.
pub fn values<'a>(settings: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    settings
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// Splits a value into words: unquoting and C unescaping.
pub fn words(value: &str) -> Result<Vec<String>, String> {
    Ok(raw_words(value)?
        .into_iter()
        .map(|(_, word)| word)
        .collect())
}

/// Each word as written and as read.
fn raw_words(value: &str) -> Result<Vec<(String, String)>, String> {
    let mut words = Vec::new();
    let mut chars = value.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            return Ok(words);
        }
        let rest: String = chars.clone().collect();
        let mut word = String::new();
        let mut quote: Option<char> = None;
        while let Some(c) = chars.next() {
            match (quote, c) {
                (None, c) if c.is_whitespace() => break,
                (None, '"' | '\'') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (_, '\\') => word.push(unescape(&mut chars)?),
                (_, c) => word.push(c),
            }
        }
        if quote.is_some() {
            return Err(format!("unterminated quote in {value:?}"));
        }
        let left: String = chars.clone().collect();
        let raw = rest[..rest.len() - left.len()].trim_end().to_owned();
        words.push((raw, word));
    }
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

fn digits(chars: &mut Chars<'_>, count: usize, radix: u32) -> Result<u32, String> {
    let text: String = (0..count).filter_map(|_| chars.next()).collect();
    if text.chars().count() != count {
        return Err("short escape".into());
    }
    u32::from_str_radix(&text, radix).map_err(|e| format!("bad escape {text:?}: {e}"))
}

fn unescape(chars: &mut Chars<'_>) -> Result<char, String> {
    let code = |n: u32| {
        char::from_u32(n)
            .filter(|c| *c != '\0')
            .ok_or("bad code point")
    };
    let c = match chars.next().ok_or("trailing backslash")? {
        'a' => '\x07',
        'b' => '\x08',
        'f' => '\x0c',
        'n' => '\n',
        'r' => '\r',
        't' => '\t',
        'v' => '\x0b',
        's' => ' ',
        '\\' => '\\',
        '"' => '"',
        '\'' => '\'',
        'x' => code(digits(chars, 2, 16)?)?,
        'u' => code(digits(chars, 4, 16)?)?,
        'U' => code(digits(chars, 8, 16)?)?,
        d @ '0'..='7' => {
            let rest = digits(chars, 2, 8)?;
            code(d.to_digit(8).unwrap_or(0) * 64 + rest)?
        }
        other => return Err(format!("unknown escape \\{other}")),
    };
    Ok(c)
}

/// Expands specifiers: `%%` only.
pub fn specifiers(word: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = word.chars();
    while let Some(c) = chars.next() {
        if c == '%' {
            match chars.next() {
                Some('%') => out.push('%'),
                other => return Err(format!("specifier %{other:?} in {word:?}")),
            }
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Exec-time variable substitution of one word (systemd's `replace_env_argv`).
fn substitute(word: &str, env: &BTreeMap<String, String>) -> Vec<String> {
    if let Some(name) = word.strip_prefix('$')
        && !name.is_empty()
        && name.chars().all(is_name_char)
    {
        return env
            .get(name)
            .map(|v| v.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default();
    }
    let mut out = String::new();
    let mut rest = word;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(after) = after.strip_prefix('$') {
            out.push('$');
            rest = after;
        } else if let Some(body) = after.strip_prefix('{')
            && let Some(end) = body.find('}')
        {
            out.push_str(env.get(&body[..end]).map_or("", String::as_str));
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    vec![out]
}

/// The argv systemd executes for an `ExecStart=` value, with `env` as the unit's environment.
pub fn exec_argv(value: &str, env: &BTreeMap<String, String>) -> Result<Vec<String>, String> {
    if value.starts_with(['-', '@', '+', '!', ':']) {
        return Err(format!("prefix on the program: {value:?}"));
    }
    let mut argv = Vec::new();
    for (i, (raw, word)) in raw_words(value)?.iter().enumerate() {
        // A lone unquoted `;` separates commands (the export never writes `\;`, the escaped
        // literal, and it fails here as an unknown escape).
        if raw == ";" {
            return Err(format!("command separator in {value:?}"));
        }
        let word = specifiers(word)?;
        if i == 0 {
            argv.push(word);
        } else {
            argv.extend(substitute(&word, env));
        }
    }
    Ok(argv)
}

/// The variables of the `Environment=` settings, in order.
pub fn environment(settings: &[(String, String)]) -> Result<BTreeMap<String, String>, String> {
    let mut env = BTreeMap::new();
    for value in values(settings, "Environment") {
        for word in words(value)? {
            let word = specifiers(&word)?;
            let (name, val) = word
                .split_once('=')
                .ok_or_else(|| format!("no = in {word:?}"))?;
            env.insert(name.to_owned(), val.to_owned());
        }
    }
    Ok(env)
}

#[test]
fn the_parser_follows_the_manual_examples() {
    // systemd.service(5), "Command lines".
    let text = "Environment=\"ONE=one\" 'TWO=two two'\nExecStart=/bin/echo $ONE $TWO ${TWO}\n";
    let s = settings(text);
    let env = environment(&s).expect("env");
    assert_eq!(
        exec_argv(values(&s, "ExecStart")[0], &env),
        Ok(vec![
            "/bin/echo".to_owned(),
            "one".into(),
            "two".into(),
            "two".into(),
            "two two".into()
        ])
    );
    // systemd.exec(5), `Environment=`.
    let s = settings("Environment=\"VAR1=word1 word2\" VAR2=word3 \"VAR3=$word 5 6\"\n");
    let env = environment(&s).expect("env");
    assert_eq!(env["VAR1"], "word1 word2");
    assert_eq!(env["VAR2"], "word3");
    assert_eq!(env["VAR3"], "$word 5 6");
    // systemd.syntax(7): continuation lines.
    let s = settings("KeyTwo=value 2 \\\n       value 2 continued\n# c\nA=\\\\\n");
    assert_eq!(values(&s, "KeyTwo"), ["value 2         value 2 continued"]);
    assert_eq!(values(&s, "A"), ["\\\\"]);
    assert_eq!(
        words(r#""a\x41\101\u00e9\sb""#),
        Ok(vec!["aAAé b".to_owned()])
    );
    assert!(words(r#""\q""#).is_err());
    assert!(specifiers("%n").is_err());
}
