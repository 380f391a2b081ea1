//! Accent- and case-insensitive matching: the same `fold` is applied to indexed text and to
//! queries, and user queries are escaped into FTS5 syntax that can never fail to parse.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Folds text for matching: NFKD, combining marks dropped, lowercased, and the Latin letters
/// that have no decomposition mapped by hand (ø→o, æ→ae, œ→oe, ß→ss, ł→l, đ/ð→d, þ→th, ı→i).
/// `fold("ØDEGÅRD") == fold("Ødegård") == "odegard"`.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // Character by character: ASCII (most of a note) needs only lowercasing, and decomposing
    // each other character alone gives what NFKD of the whole text gives once the combining
    // marks, the only characters canonical ordering moves, are dropped (tested against it).
    let mut one = [0u8; 4];
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            push_folded(&*c.encode_utf8(&mut one), &mut out);
        }
    }
    out
}

fn push_folded(text: &str, out: &mut String) {
    for c in text.nfkd() {
        if is_combining_mark(c) {
            continue;
        }
        for l in c.to_lowercase() {
            match l {
                'ø' => out.push('o'),
                'æ' => out.push_str("ae"),
                'œ' => out.push_str("oe"),
                'ß' => out.push_str("ss"),
                'ł' => out.push('l'),
                'đ' | 'ð' => out.push('d'),
                'þ' => out.push_str("th"),
                'ı' => out.push('i'),
                l if is_combining_mark(l) => {}
                l => out.push(l),
            }
        }
    }
}

/// The user's search text as folded terms: split on whitespace, folded, quotes and control
/// characters removed, terms without any letter or digit dropped.
pub fn search_terms(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|t| {
            fold(t)
                .chars()
                .filter(|c| *c != '"' && !c.is_control())
                .collect::<String>()
        })
        .filter(|t| t.chars().any(char::is_alphanumeric))
        .collect()
}

/// The FTS5 query for the user's text, or `None` when nothing in it is searchable.
///
/// Every term is quoted (so `AND`, `NEAR(`, `col:`, `^`, `*`, `-` are plain text), terms are
/// ANDed, and the last term is a prefix (search as you type). Only the `body` and `names`
/// columns are searched.
pub fn fts_query(text: &str) -> Option<String> {
    build_fts_query(&search_terms(text), None)
}

/// `fts_query` over already folded terms; `last_expansion`, when given and not empty, replaces
/// the last term's prefix match by an OR of the exact terms it expands to.
pub(crate) fn build_fts_query(
    terms: &[String],
    last_expansion: Option<&[String]>,
) -> Option<String> {
    let last = terms.len().checked_sub(1)?;
    let phrases: Vec<String> = terms
        .iter()
        .enumerate()
        .map(|(i, t)| match last_expansion {
            _ if i != last => format!("\"{t}\""),
            Some(exp) if !exp.is_empty() => {
                let alts: Vec<String> = exp.iter().map(|e| format!("\"{e}\"")).collect();
                format!("({})", alts.join(" OR "))
            }
            _ => format!("\"{t}\"*"),
        })
        .collect();
    Some(format!("{} : ({})", columns(terms), phrases.join(" AND ")))
}

/// The columns a search looks in: one character alone (the first key typed) looks up patient
/// names only. In the content it would match a word in nearly every note, which tells staff
/// nothing and costs the most; the second character searches the content too.
fn columns(terms: &[String]) -> &'static str {
    if names_only(terms) {
        "{names}"
    } else {
        "{body names}"
    }
}

fn names_only(terms: &[String]) -> bool {
    matches!(terms, [t] if t.chars().count() < 2)
}

/// The tokens of already folded text, as the index's tokenizer splits it (letters and digits).
pub fn tokens(folded: &str) -> impl Iterator<Item = &str> {
    folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
}

/// Finds the words a search matched, as the index matches them: folded (so `odegard` marks
/// `Ødegård`), whole words for every term but the last, which is a prefix (search as you type).
/// Built once per search and used on every result.
#[derive(Debug, Clone)]
pub struct Matcher {
    exact: Vec<String>,
    prefix: String,
    names_only: bool,
}

impl Matcher {
    /// `None` when nothing in `query` is searchable.
    pub fn new(query: &str) -> Option<Matcher> {
        let terms = search_terms(query);
        let names_only = names_only(&terms);
        let (last, rest) = terms.split_last()?;
        // A term like `o'brien` is two index tokens; all but the very last one match whole words.
        let mut exact: Vec<String> = rest
            .iter()
            .flat_map(|t| tokens(t).map(str::to_string))
            .collect();
        let mut last_tokens: Vec<String> = tokens(last).map(str::to_string).collect();
        let prefix = last_tokens.pop()?;
        exact.append(&mut last_tokens);
        Some(Matcher {
            exact,
            prefix,
            names_only,
        })
    }

    /// The search looked at patient names only (a single character): mark no content.
    pub fn names_only(&self) -> bool {
        self.names_only
    }

    fn word_matches(&self, word: &str) -> bool {
        // Most words are ASCII: compare without folding (no allocation).
        if word.is_ascii() {
            let p = self.prefix.as_bytes();
            return (word.len() >= p.len() && word.as_bytes()[..p.len()].eq_ignore_ascii_case(p))
                || self.exact.iter().any(|e| word.eq_ignore_ascii_case(e));
        }
        let folded = fold(word);
        let hit = tokens(&folded)
            .any(|t| t.starts_with(&self.prefix) || self.exact.iter().any(|e| e == t));
        hit
    }

    /// Byte ranges of the matched words of `text`, in order, never overlapping.
    pub fn ranges<'a>(
        &'a self,
        text: &'a str,
    ) -> impl Iterator<Item = std::ops::Range<usize>> + 'a {
        let is_word = |c: char| c.is_alphanumeric() || is_combining_mark(c);
        let mut start = None;
        text.char_indices()
            .chain(std::iter::once((text.len(), ' ')))
            .filter_map(move |(i, c)| match (start, is_word(c) && i < text.len()) {
                (None, true) => {
                    start = Some(i);
                    None
                }
                (Some(s), false) => {
                    start = None;
                    self.word_matches(&text[s..i]).then_some(s..i)
                }
                _ => None,
            })
    }
}

/// The token that stands for a patient in the FTS `pt` column, or `None` if the uuid has no
/// letters or digits (then filtering by patient uses the notes table alone).
pub(crate) fn patient_token(uuid: &str) -> Option<String> {
    let t: String = fold(uuid).chars().filter(|c| c.is_alphanumeric()).collect();
    (!t.is_empty()).then(|| format!("p{t}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn character_by_character_is_nfkd_of_the_whole_text() {
        let whole = |text: &str| {
            let mut out = String::new();
            push_folded(text, &mut out);
            out
        };
        for text in [
            "Ødegård ØDEGÅRD Núñez Zoë",
            "e\u{301}e\u{327}\u{301} a\u{323}\u{302} (marks in both orders)",
            "q\u{307}\u{323} q\u{323}\u{307} Å Å",
            "ﬁle ﬂoor ½ ² Ⅻ ＡＢＣ ｶ ﬀ",
            "한국어 Ǆ ǅ ǆ İstanbul ıi ẞ ß Œuvre Æsir Łódź Đặng Þór",
            "Ελληνικά ΣΊΣΥΦΟΣ Кириллица ﷺ ㎒ ℃",
            "plain ASCII, digits 0123 and punctuation: x-y/z.",
        ] {
            assert_eq!(fold(text), whole(text), "{text}");
        }
    }

    #[test]
    fn folds_accents_case_and_undecomposable_letters() {
        assert_eq!(fold("Ødegård"), "odegard");
        assert_eq!(fold("ØDEGÅRD"), "odegard");
        assert_eq!(fold("Odegard"), "odegard");
        assert_eq!(fold("Núñez Zoë"), "nunez zoe");
        assert_eq!(
            fold("Æsir Œuvre Straße Łódź Đorđe Þór ı"),
            "aesir oeuvre strasse lodz dorde thor i"
        );
        assert_eq!(fold("STRAẞE"), "strasse");
        assert_eq!(fold("ﬁle İstanbul"), "file istanbul");
    }

    #[test]
    fn match_ranges_mark_folded_words_and_a_prefix_for_the_last_term() {
        let text = "Pt. Ødegård (ODEGARD) seen; odegardsen, Anna Annabel.";
        let words = |q: &str| -> Vec<&str> {
            Matcher::new(q)
                .map_or_else(Vec::new, |m| m.ranges(text).collect::<Vec<_>>())
                .into_iter()
                .map(|r| &text[r])
                .collect()
        };
        assert_eq!(words("odegard"), ["Ødegård", "ODEGARD", "odegardsen"]);
        // Earlier terms match whole words only; the last one is a prefix.
        assert_eq!(
            words("odegard ann"),
            ["Ødegård", "ODEGARD", "Anna", "Annabel"]
        );
        assert_eq!(
            words("anna odeg"),
            ["Ødegård", "ODEGARD", "odegardsen", "Anna"]
        );
        assert_eq!(words("  \" ( "), Vec::<&str>::new());
        assert_eq!(words("zzz"), Vec::<&str>::new());
        // Decomposed accents stay inside the word they belong to.
        let nfd = "Zoe\u{308} left";
        let r: Vec<_> = Matcher::new("zoe").unwrap().ranges(nfd).collect();
        assert_eq!(r, vec![0..5]);
    }

    #[test]
    fn one_character_searches_names_only() {
        assert_eq!(fts_query("s"), Some("{names} : (\"s\"*)".to_string()));
        assert_eq!(fts_query("Ø"), Some("{names} : (\"o\"*)".to_string()));
        assert_eq!(
            fts_query("sm"),
            Some("{body names} : (\"sm\"*)".to_string())
        );
        assert_eq!(
            fts_query("a b"),
            Some("{body names} : (\"a\" AND \"b\"*)".to_string())
        );
        assert!(Matcher::new("s").unwrap().names_only());
        assert!(!Matcher::new("sm").unwrap().names_only());
    }

    #[test]
    fn hostile_queries_are_quoted() {
        assert_eq!(fts_query(""), None);
        assert_eq!(fts_query("  \" ( * - ^ "), None);
        assert_eq!(
            fts_query("Ødegård NEAR( col:x"),
            Some("{body names} : (\"odegard\" AND \"near(\" AND \"col:x\"*)".to_string())
        );
    }
}
