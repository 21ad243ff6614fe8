//! Getting the configuration in safely, before serde reads it:
//!
//! 1. [`read_file`] reads at most [`MAX_FILE_BYTES`] (`--config /dev/zero` used to read for
//!    ever);
//! 2. [`scan_yaml`] walks the file's YAML events one by one, before the `config` crate loads
//!    it: that loader expands aliases (a 342-byte "billion laughs" reached gigabytes) and
//!    recurses per level, and it fails on `.nan` without naming the key. The scan rejects
//!    anchors and aliases, nesting deeper than [`MAX_DEPTH`], more than [`MAX_NODES`] keys and
//!    values, duplicate and non-scalar keys,
//!    more than one document and numbers that are not finite, each naming the key and line;
//! 3. [`check_shape`] compares the merged tree (file and `PGMON_*` environment) with the shape
//!    of the defaults: serde reads a list given where a section is expected by position
//!    (`limits: [1, 2]` set two limits), and rounds a float given for an integer.

use super::ConfigError;
use config::{Map, Value, ValueKind};
use std::collections::HashSet;
use std::io::Read;
use std::path::Path;
use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::TScalarStyle;
use yaml_rust2::Yaml;

/// The largest config file read: the sample with every key and comment is under 10 KiB.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;
/// The deepest nesting of sections and lists; the deepest key (`http.auth.api.basic_user`)
/// is four levels down.
pub const MAX_DEPTH: usize = 8;

/// The most keys and values a file may hold: the sample config, every key set, holds about
/// 200. Stops a file of a million list items before the loader builds a tree of them.
pub const MAX_NODES: usize = 4096;

/// Reads `path` as UTF-8, at most [`MAX_FILE_BYTES`]; a larger file (or an endless device)
/// is an error, not a read for ever.
pub fn read_file(path: &Path) -> Result<String, ConfigError> {
    let read_error = |source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(ConfigError::TooLarge {
            path: path.to_path_buf(),
            limit: MAX_FILE_BYTES,
        });
    }
    String::from_utf8(bytes).map_err(|e| {
        read_error(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        ))
    })
}

/// A collection open in the event stream.
enum Frame {
    Mapping {
        path: String,
        /// The key whose value comes next; `None` while a key is expected.
        key: Option<String>,
        seen: HashSet<String>,
    },
    Sequence {
        path: String,
    },
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

struct Scan {
    stack: Vec<Frame>,
    /// The last key read and its line: a value's errors point at its key's line, and syntax
    /// errors name the key they follow.
    last_key: String,
    last_key_line: usize,
    documents: usize,
    /// Keys, values, sections and lists seen so far.
    nodes: usize,
}

impl Scan {
    fn expecting_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Mapping { key: None, .. }))
    }

    fn parent_path(&self) -> &str {
        match self.stack.last() {
            Some(Frame::Mapping { path, .. } | Frame::Sequence { path }) => path,
            None => "",
        }
    }

    /// The key path of the value that comes next.
    fn value_path(&self) -> String {
        match self.stack.last() {
            Some(Frame::Mapping { path, key: Some(k), .. }) => join(path, k),
            Some(Frame::Mapping { path, .. }) => path.clone(),
            Some(Frame::Sequence { path }) => format!("{path}[]"),
            None => String::new(),
        }
    }

    /// A value is complete: the mapping it belongs to expects a key again.
    fn value_done(&mut self) {
        if let Some(Frame::Mapping { key, .. }) = self.stack.last_mut() {
            *key = None;
        }
    }
}

fn yaml_error(key: &str, line: usize, reason: impl Into<String>) -> ConfigError {
    ConfigError::Yaml {
        at: if key.is_empty() {
            format!("line {line}")
        } else {
            format!("key `{}` (line {line})", show_key(key))
        },
        reason: reason.into(),
    }
}

/// A key path as errors show it: escaped and shortened, so a hostile key stays one short line.
pub fn show_key(key: &str) -> String {
    const MAX: usize = 128;
    let escaped: String = key.escape_debug().collect();
    if escaped.chars().count() <= MAX {
        escaped
    } else {
        let head: String = escaped.chars().take(MAX).collect();
        format!("{head}…")
    }
}

/// What the `config` crate's loader makes of a plain scalar: a float it then parses with Rust's
/// `f64` parser (which does not know `.nan` or `.inf`), or something else.
fn unparsable_float(value: &str, style: TScalarStyle, tag: Option<&Tag>) -> bool {
    if style != TScalarStyle::Plain {
        return false;
    }
    let float_tag = match tag {
        None => true,
        Some(t) => t.handle == "tag:yaml.org,2002:" && t.suffix == "float",
    };
    match Yaml::from_str(value) {
        Yaml::Real(text) if float_tag => !text.parse::<f64>().is_ok_and(f64::is_finite),
        _ => false,
    }
}

/// Walks the YAML events of `text` without building anything: rejects anchors and aliases,
/// nesting deeper than [`MAX_DEPTH`], empty, duplicate and non-scalar keys, several documents,
/// and numbers that are not finite; a syntax error names the last key read.
pub fn scan_yaml(text: &str) -> Result<(), ConfigError> {
    let mut parser = Parser::new_from_str(text);
    let mut scan = Scan {
        stack: Vec::new(),
        last_key: String::new(),
        last_key_line: 0,
        documents: 0,
        nodes: 0,
    };
    const NO_ANCHORS: &str = "YAML anchors (&name) and aliases (*name) are not supported: write the value out";
    loop {
        let (event, mark) = parser.next_token().map_err(|e| {
            let m = e.marker();
            let where_ = if scan.last_key.is_empty() {
                String::new()
            } else {
                format!(", after key `{}`", show_key(&scan.last_key))
            };
            ConfigError::Yaml {
                at: format!("line {} column {}{where_}", m.line(), m.col() + 1),
                reason: format!("not valid YAML: {}", e.info()),
            }
        })?;
        let line = mark.line();
        if matches!(
            event,
            Event::Scalar(..) | Event::Alias(_) | Event::MappingStart(..) | Event::SequenceStart(..)
        ) {
            scan.nodes += 1;
            if scan.nodes > MAX_NODES {
                return Err(yaml_error(
                    &scan.value_path(),
                    line,
                    format!("the file holds more than {MAX_NODES} keys and values; a full config has about 200"),
                ));
            }
        }
        match event {
            Event::StreamEnd => return Ok(()),
            Event::Nothing | Event::StreamStart | Event::DocumentEnd => {}
            Event::DocumentStart => {
                scan.documents += 1;
                if scan.documents > 1 {
                    return Err(yaml_error(
                        "",
                        line,
                        "a second YAML document (`---`); the file must hold exactly one",
                    ));
                }
            }
            Event::Alias(_) => {
                let path = if scan.expecting_key() {
                    scan.parent_path().to_string()
                } else {
                    scan.value_path()
                };
                return Err(yaml_error(&path, scan.last_key_line.max(1), NO_ANCHORS));
            }
            Event::Scalar(value, style, anchor, tag) => {
                if scan.expecting_key() {
                    let path = join(scan.parent_path(), &value);
                    if anchor != 0 {
                        return Err(yaml_error(&path, line, NO_ANCHORS));
                    }
                    if value.is_empty()
                        || (style == TScalarStyle::Plain && matches!(Yaml::from_str(&value), Yaml::Null))
                    {
                        return Err(yaml_error(
                            scan.parent_path(),
                            line,
                            "holds an empty (null) key; every key must be a name",
                        ));
                    }
                    scan.last_key = path.clone();
                    scan.last_key_line = line;
                    if let Some(Frame::Mapping { key, seen, .. }) = scan.stack.last_mut() {
                        if !seen.insert(value.clone()) {
                            return Err(yaml_error(
                                &path,
                                line,
                                "is set twice in the same section; keep one (YAML would silently keep the last)",
                            ));
                        }
                        *key = Some(value);
                    }
                } else {
                    let path = scan.value_path();
                    if anchor != 0 {
                        return Err(yaml_error(&path, line, NO_ANCHORS));
                    }
                    if unparsable_float(&value, style, tag.as_ref()) {
                        return Err(yaml_error(
                            &path,
                            line,
                            format!(
                                "{} is not a finite number (NaN and infinity are not allowed; quote it if you mean text)",
                                show_key(&value)
                            ),
                        ));
                    }
                    scan.value_done();
                }
            }
            Event::MappingStart(anchor, _) | Event::SequenceStart(anchor, _) => {
                if scan.expecting_key() {
                    return Err(yaml_error(
                        scan.parent_path(),
                        line,
                        "holds a key that is a list or a section; every key must be a plain name",
                    ));
                }
                let path = scan.value_path();
                // A block collection starts on the line after its key: point at the key.
                let line = if path.is_empty() { line } else { scan.last_key_line };
                if anchor != 0 {
                    return Err(yaml_error(&path, line, NO_ANCHORS));
                }
                if scan.stack.len() >= MAX_DEPTH {
                    return Err(yaml_error(
                        &path,
                        line,
                        format!("nests deeper than {MAX_DEPTH} levels; no config key is that deep"),
                    ));
                }
                scan.stack.push(if matches!(event, Event::MappingStart(..)) {
                    Frame::Mapping {
                        path,
                        key: None,
                        seen: HashSet::new(),
                    }
                } else {
                    Frame::Sequence { path }
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                scan.stack.pop();
                scan.value_done();
            }
        }
    }
}

fn shape_error(key: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Yaml {
        at: format!("key `{}`", show_key(key)),
        reason: reason.into(),
    }
}

fn describe(kind: &ValueKind) -> &'static str {
    match kind {
        ValueKind::Nil => "empty",
        ValueKind::Table(_) => "a section of keys",
        ValueKind::Array(_) => "a list",
        _ => "a single value",
    }
}

/// Checks the merged tree (file and environment) against `defaults`, the defaults serialized
/// as JSON: a key whose default is a section must be a section, one whose default is a value
/// must be a single value, a number must be finite and, where the default is an integer, whole
/// and not negative. Keys the defaults do not show (unknown keys, secrets) are left to serde.
pub fn check_shape(table: &Map<String, Value>, defaults: &serde_json::Value, path: &str) -> Result<(), ConfigError> {
    let mut keys: Vec<&String> = table.keys().collect();
    keys.sort();
    for key in keys {
        let value = &table[key];
        let path = join(path, key);
        let Some(expected) = defaults.get(key) else { continue };
        match (expected, &value.kind) {
            (serde_json::Value::Object(_), ValueKind::Table(inner)) => check_shape(inner, expected, &path)?,
            (serde_json::Value::Object(_), kind) => {
                let hint = if matches!(kind, ValueKind::Array(_)) {
                    " (a list would be read by position)"
                } else {
                    ""
                };
                return Err(shape_error(
                    &path,
                    format!("must be a section of `key: value` lines, not {}{hint}", describe(kind)),
                ));
            }
            (_, kind @ (ValueKind::Table(_) | ValueKind::Array(_))) => {
                return Err(shape_error(
                    &path,
                    format!("must be a single value, not {}", describe(kind)),
                ));
            }
            (serde_json::Value::Number(n), ValueKind::Float(f)) => {
                if !f.is_finite() {
                    return Err(shape_error(
                        &path,
                        format!("{f} is not a finite number (NaN and infinity are not allowed)"),
                    ));
                }
                if n.is_u64() && (f.fract() != 0.0 || *f < 0.0) {
                    return Err(shape_error(&path, format!("{f} must be a whole number, zero or more")));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_err(yaml: &str) -> String {
        scan_yaml(yaml).unwrap_err().to_string()
    }

    #[test]
    fn billion_laughs_is_rejected_at_the_first_anchor() {
        let mut bomb =
            String::from("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
        for (name, prev) in ["b", "c", "d", "e", "f", "g", "h", "i"]
            .iter()
            .zip(["a", "b", "c", "d", "e", "f", "g", "h"])
        {
            bomb.push_str(&format!(
                "{name}: &{name} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
            ));
        }
        let err = scan_err(&bomb);
        assert!(err.contains("key `a` (line 1)") && err.contains("anchors"), "{err}");
    }

    #[test]
    fn alias_without_anchor_in_a_known_key_is_named() {
        let err = scan_err("limits:\n  top_relations: *x\n");
        assert!(err.contains("`limits.top_relations`"), "{err}");
    }

    #[test]
    fn merge_key_is_an_alias_too() {
        let err = scan_err("budgets:\n  <<: {hot_path: 1s}\nsample_intervals:\n  <<: *base\n");
        assert!(err.contains("unknown anchor"), "{err}");
        let err = scan_err("budgets: &base\n  hot_path: 1s\nsample_intervals:\n  <<: *base\n");
        assert!(
            err.contains("key `budgets` (line 1)") && err.contains("aliases"),
            "{err}"
        );
    }

    #[test]
    fn nan_and_infinity_name_their_key_and_line() {
        for v in [".nan", ".NaN", ".inf", "-.inf", "+.INF", "!!float .nan", "1e999"] {
            let err = scan_err(&format!("cluster: a\nalerts:\n  connections_warn: {v}\n"));
            assert!(
                err.contains("key `alerts.connections_warn` (line 3)") && err.contains("finite"),
                "{v}: {err}"
            );
        }
        scan_yaml("cluster: \".nan\"\nalerts:\n  connections_warn: 0.5\n").unwrap();
    }

    #[test]
    fn huge_list_is_stopped_at_the_node_cap() {
        let err = scan_err(&format!("cluster: [{}1]\n", "1,".repeat(100_000)));
        assert!(
            err.contains("key `cluster[]` (line 1)") && err.contains("4096"),
            "{err}"
        );
    }

    #[test]
    fn duplicate_key_is_rejected() {
        let err = scan_err("limits:\n  top_queries: 5\n  top_queries: 6\n");
        assert!(
            err.contains("`limits.top_queries` (line 3)") && err.contains("twice"),
            "{err}"
        );
    }

    #[test]
    fn deep_nesting_is_rejected_before_the_loader_recurses() {
        let deep = format!("a: {}{}\n", "[".repeat(200), "]".repeat(200));
        let err = scan_err(&deep);
        assert!(err.contains("deeper than 8"), "{err}");
    }

    #[test]
    fn complex_and_null_keys_are_rejected() {
        assert!(scan_err("? [a, b]\n: c\n").contains("plain name"));
        assert!(scan_err("http:\n  ~: 1\n").contains("`http`"));
    }

    #[test]
    fn second_document_is_rejected() {
        assert!(scan_err("cluster: a\n---\ncluster: b\n").contains("second YAML document"));
    }

    #[test]
    fn syntax_error_names_the_last_key() {
        let err = scan_err("limits:\n  top_queries: 5\n    oops: : x\n");
        assert!(err.contains("after key `limits.top_queries`"), "{err}");
    }

    #[test]
    fn hostile_key_is_shown_short_and_on_one_line() {
        let key = format!("{}\n", "k".repeat(10_000));
        let shown = show_key(&key);
        assert!(shown.len() < 200 && !shown.contains('\n'), "{shown}");
    }

    #[test]
    fn sample_config_scans_clean() {
        scan_yaml(include_str!("../../config.pgmon.sample.yaml")).unwrap();
    }

    #[test]
    fn oversized_and_endless_files_are_cut_at_the_limit() {
        let err = read_file(Path::new("/dev/zero")).unwrap_err().to_string();
        assert!(err.contains("/dev/zero") && err.contains("1048576"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.yaml");
        std::fs::write(&path, format!("# {}\n", "x".repeat(MAX_FILE_BYTES as usize))).unwrap();
        assert!(matches!(read_file(&path), Err(ConfigError::TooLarge { .. })));
        std::fs::write(&path, b"cluster: \xff\n").unwrap();
        assert!(read_file(&path).unwrap_err().to_string().contains("UTF-8"));
    }
}
