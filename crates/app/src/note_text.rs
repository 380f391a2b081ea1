//! A note's Markdown as a small typed tree, for front-ends that show it formatted.
//!
//! Askara writes notes in a Markdown subset (headings, paragraphs, bold, italics, lists, line
//! breaks). The content is still untrusted text: it may hold HTML, links or images that no one
//! at the practice wrote. So this never produces HTML. pulldown-cmark parses, and its events
//! become a tree of a few kinds only: raw HTML becomes *text* (shown as the characters it is
//! made of), a link becomes its text (nothing to follow), an image its alt text. A front-end
//! builds its own elements from the tree, with every string set as text.
//!
//! With a search, the words it matched come marked ([`Inline::Mark`]), from byte ranges of the
//! content (`inbox::Matcher::ranges`).

use std::ops::Range;

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag};
use serde::Serialize;

/// A block of a note: what stands on its own lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Block {
    /// `level` 1 to 6, as written (`#` is 1).
    Heading {
        level: u8,
        inlines: Vec<Inline>,
    },
    Paragraph {
        inlines: Vec<Inline>,
    },
    /// `start`: the first number of an ordered list, when it is not 1.
    List {
        ordered: bool,
        start: Option<u64>,
        items: Vec<Vec<Block>>,
    },
    /// A code block (or an indented one): text kept exactly, on its lines.
    Code {
        text: String,
    },
    /// A thematic break (`---`).
    Rule,
}

/// A run inside a block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Inline {
    Text {
        text: String,
    },
    /// Words a search matched.
    Mark {
        text: String,
    },
    Strong {
        inlines: Vec<Inline>,
    },
    Emphasis {
        inlines: Vec<Inline>,
    },
    Code {
        text: String,
    },
    /// A line break: a newline in a paragraph is one (see [`parse`]).
    Break,
}

/// How deep lists, quotes and emphasis may nest before their contents are kept flat: a note
/// is not a stress test, and a tree this deep is still drawn without deep recursion.
const MAX_DEPTH: usize = 16;

/// The note's blocks. A newline inside a paragraph is a line break ([`Inline::Break`]), not the
/// space CommonMark makes of it: a dictated note's lines are meant as lines.
pub fn parse(content: &str) -> Vec<Block> {
    parse_marked(content, &[])
}

/// As [`parse`], with the text in `hits` (byte ranges of `content`) marked. Text inside code
/// is not marked; text Markdown rewrote (an entity, an escape) is marked whole when a hit
/// touches it.
pub fn parse_marked(content: &str, hits: &[Range<usize>]) -> Vec<Block> {
    let mut hits: Vec<Range<usize>> = hits.iter().filter(|h| h.start < h.end).cloned().collect();
    hits.sort_by_key(|h| h.start);
    let mut b = Builder {
        src: content,
        hits,
        stack: vec![Frame::blocks(Container::Root)],
    };
    // No extensions: tables, footnotes, strikethrough and the rest stay the text they are.
    for (event, at) in Parser::new_ext(content, Options::empty()).into_offset_iter() {
        b.event(event, at);
    }
    // Every Start has its End; anything left open (never, but cheaply) closes here.
    while b.stack.len() > 1 {
        b.close();
    }
    match b.stack.pop() {
        Some(Frame::Blocks {
            mut blocks, loose, ..
        }) => {
            flush_loose(&mut blocks, loose);
            blocks
        }
        _ => Vec::new(),
    }
}

/// The text of a tree as a person reads it, without formatting (tests and diagnostics).
pub fn plain(blocks: &[Block]) -> String {
    fn inl(out: &mut String, inlines: &[Inline]) {
        for i in inlines {
            match i {
                Inline::Text { text } | Inline::Mark { text } | Inline::Code { text } => {
                    out.push_str(text)
                }
                Inline::Strong { inlines } | Inline::Emphasis { inlines } => inl(out, inlines),
                Inline::Break => out.push('\n'),
            }
        }
    }
    fn blk(out: &mut String, blocks: &[Block]) {
        for b in blocks {
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            match b {
                Block::Heading { inlines, .. } | Block::Paragraph { inlines } => inl(out, inlines),
                Block::List { items, .. } => {
                    for item in items {
                        blk(out, item);
                    }
                }
                Block::Code { text } => out.push_str(text),
                Block::Rule => out.push_str("---"),
            }
        }
    }
    let mut out = String::new();
    blk(&mut out, blocks);
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Container {
    Root,
    /// A list item: its blocks go to the list.
    Item,
    /// A block quote, an unknown block, or anything nested too deep: its blocks go to the
    /// parent as they are.
    Flatten,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Run {
    Paragraph,
    Heading(u8),
    /// An HTML block: its text, as a paragraph.
    Html,
    Strong,
    Emphasis,
    /// A link's or image's text, or an inline nested too deep: its inlines go to the parent.
    Passthrough,
}

#[derive(Debug)]
enum Frame {
    Blocks {
        kind: Container,
        blocks: Vec<Block>,
        /// Inlines straight in a container (a tight list item's text), until a block comes.
        loose: Vec<Inline>,
    },
    List {
        ordered: bool,
        start: Option<u64>,
        items: Vec<Vec<Block>>,
    },
    Inlines {
        kind: Run,
        inlines: Vec<Inline>,
    },
    Code {
        text: String,
    },
}

impl Frame {
    fn blocks(kind: Container) -> Frame {
        Frame::Blocks {
            kind,
            blocks: Vec::new(),
            loose: Vec::new(),
        }
    }

    fn inlines(kind: Run) -> Frame {
        Frame::Inlines {
            kind,
            inlines: Vec::new(),
        }
    }
}

struct Builder<'a> {
    src: &'a str,
    hits: Vec<Range<usize>>,
    stack: Vec<Frame>,
}

impl Builder<'_> {
    fn event(&mut self, event: Event<'_>, at: Range<usize>) {
        match event {
            Event::Start(tag) => self.open(tag),
            Event::End(_) => self.close(),
            Event::Text(t) => {
                if let Some(Frame::Code { text }) = self.stack.last_mut() {
                    text.push_str(&t);
                } else {
                    self.text(&t, at);
                }
            }
            Event::Code(t) => self.push_inline(Inline::Code {
                text: t.to_string(),
            }),
            // Markup is not rendered: it is shown as the characters it is made of.
            Event::InlineHtml(t) => self.text(&t, at),
            Event::Html(t) => self.html_lines(&t, at),
            Event::SoftBreak | Event::HardBreak => self.push_inline(Inline::Break),
            Event::Rule => self.push_block(Block::Rule),
            // Math, footnotes and task markers are extensions this parser does not enable.
            _ => {}
        }
    }

    fn open(&mut self, tag: Tag<'_>) {
        let deep = self.stack.len() > MAX_DEPTH;
        let frame = match tag {
            Tag::Paragraph => Frame::inlines(Run::Paragraph),
            Tag::Heading { level, .. } => Frame::inlines(Run::Heading(heading_level(level))),
            Tag::HtmlBlock => Frame::inlines(Run::Html),
            // Fenced or indented: its lines (a fence's info string is not shown).
            Tag::CodeBlock(_) => Frame::Code {
                text: String::new(),
            },
            Tag::List(_) | Tag::Item if deep => Frame::blocks(Container::Flatten),
            Tag::List(start) => Frame::List {
                ordered: start.is_some(),
                start: start.filter(|s| *s != 1),
                items: Vec::new(),
            },
            Tag::Item => Frame::blocks(Container::Item),
            Tag::Strong if !deep => Frame::inlines(Run::Strong),
            Tag::Emphasis if !deep => Frame::inlines(Run::Emphasis),
            // A link is its text (never followed); an image its alt text.
            Tag::Strong | Tag::Emphasis | Tag::Link { .. } | Tag::Image { .. } => {
                Frame::inlines(Run::Passthrough)
            }
            // Block quotes and the extensions' blocks (not enabled): their contents, flat.
            _ => Frame::blocks(Container::Flatten),
        };
        self.stack.push(frame);
    }

    fn close(&mut self) {
        if self.stack.len() <= 1 {
            return;
        }
        let Some(frame) = self.stack.pop() else {
            return;
        };
        match frame {
            Frame::Blocks {
                kind,
                mut blocks,
                loose,
            } => {
                flush_loose(&mut blocks, loose);
                match self.stack.last_mut() {
                    Some(Frame::List { items, .. }) if kind == Container::Item => {
                        items.push(blocks)
                    }
                    _ => {
                        for b in blocks {
                            self.push_block(b);
                        }
                    }
                }
            }
            Frame::List {
                ordered,
                start,
                items,
            } => {
                if !items.is_empty() {
                    self.push_block(Block::List {
                        ordered,
                        start,
                        items,
                    });
                }
            }
            Frame::Code { mut text } => {
                if text.ends_with('\n') {
                    text.pop();
                }
                self.push_block(Block::Code { text });
            }
            Frame::Inlines { kind, mut inlines } => {
                if matches!(kind, Run::Paragraph | Run::Heading(_) | Run::Html) {
                    while matches!(inlines.last(), Some(Inline::Break)) {
                        inlines.pop();
                    }
                }
                match kind {
                    Run::Paragraph | Run::Html if inlines.is_empty() => {}
                    Run::Paragraph | Run::Html => self.push_block(Block::Paragraph { inlines }),
                    Run::Heading(level) => self.push_block(Block::Heading { level, inlines }),
                    Run::Strong | Run::Emphasis if inlines.is_empty() => {}
                    Run::Strong => self.push_inline(Inline::Strong { inlines }),
                    Run::Emphasis => self.push_inline(Inline::Emphasis { inlines }),
                    Run::Passthrough => {
                        for i in inlines {
                            self.push_inline(i);
                        }
                    }
                }
            }
        }
    }

    /// An HTML block's text: each of its lines as text, with line breaks between.
    fn html_lines(&mut self, t: &str, at: Range<usize>) {
        let mut offset = 0;
        for line in t.split_inclusive('\n') {
            let body = line.trim_end_matches(['\n', '\r']);
            let start = at.start + offset;
            self.text(body, start..start + body.len());
            if body.len() < line.len() {
                self.push_inline(Inline::Break);
            }
            offset += line.len();
        }
    }

    /// Text, cut where a search matched it.
    fn text(&mut self, text: &str, at: Range<usize>) {
        if text.is_empty() {
            return;
        }
        let touching: Vec<Range<usize>> = self
            .hits
            .iter()
            .filter(|h| h.start < at.end && h.end > at.start)
            .cloned()
            .collect();
        if touching.is_empty() {
            self.push_inline(Inline::Text { text: text.into() });
            return;
        }
        // The event's text is the source there, byte for byte: cut it at the hits.
        if self.src.get(at.clone()) == Some(text) {
            let mut pos = 0;
            for h in touching {
                let s = (h.start.max(at.start) - at.start).max(pos);
                let e = h.end.min(at.end) - at.start;
                match (text.get(pos..s), text.get(s..e)) {
                    (Some(before), Some(hit)) => {
                        if !before.is_empty() {
                            self.push_inline(Inline::Text {
                                text: before.into(),
                            });
                        }
                        self.push_inline(Inline::Mark { text: hit.into() });
                        pos = e;
                    }
                    // Not on character boundaries (never for the matcher's ranges): the
                    // rest is marked whole rather than cut inside a character.
                    _ => break,
                }
            }
            if let Some(rest) = text.get(pos..).filter(|r| !r.is_empty()) {
                let rest = rest.to_string();
                if pos == 0 {
                    self.push_inline(Inline::Mark { text: rest });
                } else {
                    self.push_inline(Inline::Text { text: rest });
                }
            }
        } else {
            // Markdown rewrote this text (an entity, an escape, a quote's prefix): marked whole.
            self.push_inline(Inline::Mark { text: text.into() });
        }
    }

    /// Adds to the innermost run or container; neighbouring text joins into one run.
    fn push_inline(&mut self, inline: Inline) {
        let target = match self.stack.last_mut() {
            Some(Frame::Inlines { inlines, .. }) => inlines,
            Some(Frame::Blocks { loose, .. }) => loose,
            Some(Frame::Code { text }) => {
                // Never (code blocks hold text only), but nothing is dropped.
                if let Inline::Text { text: t } | Inline::Mark { text: t } = &inline {
                    text.push_str(t);
                }
                return;
            }
            Some(Frame::List { .. }) | None => return,
        };
        let joined = match (target.last_mut(), &inline) {
            (Some(Inline::Text { text: a }), Inline::Text { text: b })
            | (Some(Inline::Mark { text: a }), Inline::Mark { text: b }) => {
                a.push_str(b);
                true
            }
            _ => false,
        };
        if !joined {
            target.push(inline);
        }
    }

    fn push_block(&mut self, block: Block) {
        match self.stack.last_mut() {
            Some(Frame::Blocks { blocks, loose, .. }) => {
                flush_loose(blocks, std::mem::take(loose));
                blocks.push(block);
            }
            // A block inside a run (never with these options): its text, on a new line.
            Some(Frame::Inlines { .. }) => {
                self.push_inline(Inline::Break);
                for i in block_inlines(block) {
                    self.push_inline(i);
                }
            }
            Some(Frame::List { items, .. }) => items.push(vec![block]),
            Some(Frame::Code { text }) => text.push_str(&plain(&[block])),
            None => {}
        }
    }
}

/// A tight list item's text (no paragraph of its own) becomes one.
fn flush_loose(blocks: &mut Vec<Block>, mut loose: Vec<Inline>) {
    while matches!(loose.last(), Some(Inline::Break)) {
        loose.pop();
    }
    if !loose.is_empty() {
        blocks.push(Block::Paragraph { inlines: loose });
    }
}

fn block_inlines(block: Block) -> Vec<Inline> {
    match block {
        Block::Heading { inlines, .. } | Block::Paragraph { inlines } => inlines,
        Block::Code { text } => vec![Inline::Code { text }],
        b => vec![Inline::Text { text: plain(&[b]) }],
    }
}

fn heading_level(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn text(t: &str) -> Inline {
        Inline::Text { text: t.into() }
    }

    fn para(inlines: Vec<Inline>) -> Block {
        Block::Paragraph { inlines }
    }

    /// Every string the tree holds, in order.
    fn strings(blocks: &[Block]) -> Vec<String> {
        let json = serde_json::to_value(blocks).unwrap();
        let mut out = Vec::new();
        fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
            match v {
                serde_json::Value::Object(o) => {
                    for (k, v) in o {
                        if k == "text" {
                            out.push(v.as_str().unwrap_or_default().to_string());
                        } else {
                            walk(v, out);
                        }
                    }
                }
                serde_json::Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
                _ => {}
            }
        }
        walk(&json, &mut out);
        out
    }

    #[test]
    fn headings_bold_italics_and_lists_parse() {
        let md = "# Assessment\n\n**BP** 120/80, *stable*.\n\n## Plan\n\n- Rest\n- **Ice** twice daily\n\n3. Review\n4. Call back\n";
        assert_eq!(
            parse(md),
            vec![
                Block::Heading {
                    level: 1,
                    inlines: vec![text("Assessment")]
                },
                para(vec![
                    Inline::Strong {
                        inlines: vec![text("BP")]
                    },
                    text(" 120/80, "),
                    Inline::Emphasis {
                        inlines: vec![text("stable")]
                    },
                    text("."),
                ]),
                Block::Heading {
                    level: 2,
                    inlines: vec![text("Plan")]
                },
                Block::List {
                    ordered: false,
                    start: None,
                    items: vec![
                        vec![para(vec![text("Rest")])],
                        vec![para(vec![
                            Inline::Strong {
                                inlines: vec![text("Ice")]
                            },
                            text(" twice daily"),
                        ])],
                    ],
                },
                Block::List {
                    ordered: true,
                    start: Some(3),
                    items: vec![
                        vec![para(vec![text("Review")])],
                        vec![para(vec![text("Call back")])],
                    ],
                },
            ]
        );
    }

    #[test]
    fn a_newline_is_a_line_break_and_blank_lines_make_paragraphs() {
        assert_eq!(
            parse("Knee pain after skiing.\nRest and ice.\n\nReview in 2 weeks."),
            vec![
                para(vec![
                    text("Knee pain after skiing."),
                    Inline::Break,
                    text("Rest and ice.")
                ]),
                para(vec![text("Review in 2 weeks.")]),
            ]
        );
    }

    #[test]
    fn html_in_a_note_stays_text() {
        let hostile = "<img src=x onerror=alert(1)>";
        // As a block of its own, and inline in a paragraph.
        let blocks = parse(&format!(
            "Intro\n\n{hostile}\n\nSee <b>this</b> and <script>alert(2)</script>."
        ));
        assert_eq!(
            blocks,
            vec![
                para(vec![text("Intro")]),
                para(vec![text(hostile)]),
                para(vec![text("See <b>this</b> and <script>alert(2)</script>.")]),
            ]
        );
        // The desktop's own end-to-end sample: every character survives, as text.
        let markup = "<img src=x onerror=\"window.__pwned=1\"><b>Bold?</b>\nSecond line & <script>window.__pwned=2</script>";
        assert_eq!(plain(&parse(markup)), markup);
    }

    #[test]
    fn a_link_is_its_text_and_an_image_its_alt_text() {
        let blocks = parse("[a](javascript:alert(1)) and ![scan of the knee](http://x/y.png)");
        assert_eq!(blocks, vec![para(vec![text("a and scan of the knee")])]);
        let json = serde_json::to_string(&blocks).unwrap();
        assert!(!json.contains("javascript"), "{json}");
        assert!(!json.contains("http://x"), "{json}");
        // An autolink shows its address, as text.
        assert_eq!(
            parse("<https://askara.ai>"),
            vec![para(vec![text("https://askara.ai")])]
        );
    }

    #[test]
    fn code_is_kept_exactly_as_text() {
        assert_eq!(
            parse("Dose: `5 mg`\n\n```\n<script>x</script>\n  indented\n```"),
            vec![
                para(vec![
                    text("Dose: "),
                    Inline::Code {
                        text: "5 mg".into()
                    }
                ]),
                Block::Code {
                    text: "<script>x</script>\n  indented".into()
                },
            ]
        );
        assert_eq!(parse("a\n\n---\n\nb")[1], Block::Rule);
    }

    #[test]
    fn nested_lists_and_quotes_keep_their_text() {
        let blocks = parse("- Knee\n  - left\n  - right\n- Hip\n\n> Quoted line");
        assert_eq!(
            strings(&blocks),
            vec!["Knee", "left", "right", "Hip", "Quoted line"]
        );
        let Block::List { items, .. } = &blocks[0] else {
            panic!("a list first: {blocks:?}")
        };
        assert!(matches!(items[0][1], Block::List { .. }), "{items:?}");
        // The quote's paragraph, flat.
        assert_eq!(blocks[1], para(vec![text("Quoted line")]));
    }

    #[test]
    fn deep_nesting_is_kept_flat_below_a_limit() {
        let md = format!("{}deep", "- ".repeat(500));
        let blocks = parse(&md);
        fn depth(blocks: &[Block]) -> usize {
            blocks
                .iter()
                .map(|b| match b {
                    Block::List { items, .. } => {
                        1 + items.iter().map(|i| depth(i.as_slice())).max().unwrap_or(0)
                    }
                    _ => 0,
                })
                .max()
                .unwrap_or(0)
        }
        assert!(depth(&blocks) <= MAX_DEPTH, "{}", depth(&blocks));
        assert_eq!(strings(&blocks), vec!["deep"]);
        let emphasis = format!("{}x{}", "*a ".repeat(300), " b*".repeat(300));
        assert!(plain(&parse(&emphasis)).contains('x'));
    }

    #[test]
    fn search_hits_are_marked_inside_formatting() {
        let md = "**Knee** pain after skiing.\n\n- skiing & rest";
        let hits: Vec<Range<usize>> = md
            .match_indices("skiing")
            .map(|(i, s)| i..i + s.len())
            .collect();
        let hits_knee: Vec<Range<usize>> = md
            .match_indices("Knee")
            .map(|(i, s)| i..i + s.len())
            .collect();
        assert_eq!(
            parse_marked(md, &hits)[0],
            para(vec![
                Inline::Strong {
                    inlines: vec![text("Knee")]
                },
                text(" pain after "),
                Inline::Mark {
                    text: "skiing".into()
                },
                text("."),
            ])
        );
        let json = serde_json::to_string(&parse_marked(md, &hits)).unwrap();
        assert_eq!(
            json.matches(r#"{"kind":"mark","text":"skiing"}"#).count(),
            2,
            "{json}"
        );
        assert_eq!(
            parse_marked(md, &hits_knee)[0],
            para(vec![
                Inline::Strong {
                    inlines: vec![Inline::Mark {
                        text: "Knee".into()
                    }]
                },
                text(" pain after skiing."),
            ])
        );
        // No hits: the same tree as parse.
        assert_eq!(parse_marked(md, &[]), parse(md));
    }

    #[test]
    fn the_tree_serialises_as_the_ui_reads_it() {
        let json = serde_json::to_value(parse("# A\n\n*b*  \nc\n\n1. d")).unwrap();
        assert_eq!(
            json,
            serde_json::json!([
                {"kind": "heading", "level": 1, "inlines": [{"kind": "text", "text": "A"}]},
                {"kind": "paragraph", "inlines": [
                    {"kind": "emphasis", "inlines": [{"kind": "text", "text": "b"}]},
                    {"kind": "break"},
                    {"kind": "text", "text": "c"}
                ]},
                {"kind": "list", "ordered": true, "start": null,
                 "items": [[{"kind": "paragraph", "inlines": [{"kind": "text", "text": "d"}]}]]}
            ])
        );
    }

    #[test]
    fn empty_and_blank_notes_have_no_blocks() {
        assert_eq!(parse(""), vec![]);
        assert_eq!(parse("  \n\n "), vec![]);
    }
}
