//! An app's own appstream data (its metainfo file, or the composed `app-info/xmls/ID.xml.gz`),
//! for the refs whose deploy file does not carry a name or version (deployed by an old flatpak,
//! or built without composed appstream data).
//!
//! Only the component's own `<name>`, `<summary>` and newest `<release version>` are read, with a
//! small scanner rather than a full XML parser: the files are machine-written and a miss only means
//! the id is shown instead of a name.

use std::io::Read;
use std::path::Path;

use ostree::gio;
use ostree::gio::prelude::*;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Component {
    pub name: Option<String>,
    pub summary: Option<String>,
    pub version: Option<String>,
}

/// Reads the component `id` from the deployment's `files` folder, trying the composed data first.
pub fn read(files: &Path, id: &str, locales: &[String]) -> Option<Component> {
    let share = files.join("share");
    let composed = share.join(format!("app-info/xmls/{id}.xml.gz"));
    if let Some(text) = read_gzip(&composed)
        && let Some(found) = parse(&text, id, locales)
    {
        return Some(found);
    }
    [
        format!("metainfo/{id}.metainfo.xml"),
        format!("metainfo/{id}.appdata.xml"),
        format!("appdata/{id}.appdata.xml"),
    ]
    .iter()
    .find_map(|name| {
        parse(
            &std::fs::read_to_string(share.join(name)).ok()?,
            id,
            locales,
        )
    })
}

fn read_gzip(path: &Path) -> Option<String> {
    let file = gio::File::for_path(path)
        .read(gio::Cancellable::NONE)
        .ok()?;
    let decompressor = gio::ZlibDecompressor::new(gio::ZlibCompressorFormat::Gzip);
    let stream = gio::ConverterInputStream::new(&file, &decompressor);
    let mut text = String::new();
    // Appstream data of one app is small; a bigger file is not what it claims to be.
    stream
        .into_read()
        .take(4 << 20)
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}

/// Finds the component whose `<id>` is `id` (or `id.desktop`, as old files spell it) and reads it;
/// a file with one component and no matching id still counts (a metainfo file names its app in
/// its file name).
pub fn parse(xml: &str, id: &str, locales: &[String]) -> Option<Component> {
    let mut components = Vec::new();
    let mut current: Option<Draft> = None;
    let mut path: Vec<&str> = Vec::new();
    let mut text = String::new();
    for event in Events::new(xml) {
        match event {
            Event::Start(tag, attrs, empty) => {
                if tag == "component" {
                    current = Some(Draft::default());
                }
                if let Some(draft) = current.as_mut() {
                    let parent = path.last().copied();
                    if tag == "release" && parent == Some("releases") && draft.version.is_none() {
                        draft.version = attribute(attrs, "version");
                    }
                    draft.lang = attribute(attrs, "xml:lang");
                }
                text.clear();
                if !empty {
                    path.push(tag);
                }
            }
            Event::Text(chunk) => text.push_str(&unescape(chunk)),
            Event::End(tag) => {
                path.pop();
                let parent = path.last().copied();
                if let Some(draft) = current.as_mut()
                    && parent == Some("component")
                {
                    let value = text.trim().to_owned();
                    let lang = draft.lang.take();
                    match tag {
                        "id" => draft.id = value,
                        "name" => draft.names.push((lang, value)),
                        "summary" => draft.summaries.push((lang, value)),
                        _ => {}
                    }
                }
                if tag == "component" {
                    components.extend(current.take());
                }
                text.clear();
            }
        }
    }
    let only_one = components.len() == 1;
    let draft = components
        .into_iter()
        .find(|c| c.id == id || c.id == format!("{id}.desktop") || only_one)?;
    Some(Component {
        name: pick(&draft.names, locales),
        summary: pick(&draft.summaries, locales),
        version: draft.version,
    })
}

#[derive(Default)]
struct Draft {
    id: String,
    names: Vec<(Option<String>, String)>,
    summaries: Vec<(Option<String>, String)>,
    version: Option<String>,
    /// The `xml:lang` of the element being read.
    lang: Option<String>,
}

fn pick(values: &[(Option<String>, String)], locales: &[String]) -> Option<String> {
    locales
        .iter()
        .find_map(|locale| values.iter().find(|(l, _)| l.as_ref() == Some(locale)))
        .or_else(|| values.iter().find(|(l, _)| l.is_none()))
        .map(|(_, text)| text.clone())
        .filter(|text| !text.is_empty())
}

fn attribute(attrs: &str, name: &str) -> Option<String> {
    let mut rest = attrs;
    while let Some(at) = rest.find(name) {
        let before_ok = at == 0 || rest.as_bytes()[at - 1].is_ascii_whitespace();
        let after = rest[at + name.len()..].trim_start();
        if before_ok && let Some(value) = after.strip_prefix('=') {
            let value = value.trim_start();
            let quote = value.chars().next()?;
            if quote == '"' || quote == '\'' {
                let end = value[1..].find(quote)?;
                return Some(unescape(&value[1..1 + end]));
            }
        }
        rest = &rest[at + name.len()..];
    }
    None
}

fn unescape(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(end) = rest.find(';') else { break };
        let entity = &rest[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

enum Event<'a> {
    /// Tag name, attribute text, self-closing.
    Start(&'a str, &'a str, bool),
    End(&'a str),
    Text(&'a str),
}

/// Tags and text of an XML document; comments, declarations and processing instructions skipped,
/// CDATA given as text.
struct Events<'a> {
    rest: &'a str,
}

impl<'a> Events<'a> {
    fn new(xml: &'a str) -> Self {
        Self { rest: xml }
    }
}

impl<'a> Iterator for Events<'a> {
    type Item = Event<'a>;

    fn next(&mut self) -> Option<Event<'a>> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            if !self.rest.starts_with('<') {
                let end = self.rest.find('<').unwrap_or(self.rest.len());
                let (text, rest) = self.rest.split_at(end);
                self.rest = rest;
                return Some(Event::Text(text));
            }
            for (open, close) in [("<!--", "-->"), ("<?", "?>"), ("<![CDATA[", "]]>")] {
                if let Some(body) = self.rest.strip_prefix(open) {
                    let end = body.find(close).unwrap_or(body.len());
                    self.rest = body.get(end + close.len()..).unwrap_or("");
                    if open == "<![CDATA[" {
                        return Some(Event::Text(&body[..end]));
                    }
                    return self.next();
                }
            }
            let end = self.rest.find('>')?;
            let tag = &self.rest[1..end];
            self.rest = &self.rest[end + 1..];
            if tag.starts_with('!') {
                continue;
            }
            if let Some(name) = tag.strip_prefix('/') {
                return Some(Event::End(name.trim()));
            }
            let (tag, empty) = match tag.strip_suffix('/') {
                Some(tag) => (tag, true),
                None => (tag, false),
            };
            let split = tag.find(char::is_whitespace).unwrap_or(tag.len());
            return Some(Event::Start(&tag[..split], &tag[split..], empty));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const METAINFO: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- Copyright: someone -->
<component type="desktop-application">
  <id>org.example.Paint</id>
  <name>Paint &amp; Draw</name>
  <name xml:lang="de">Malen &amp; Zeichnen</name>
  <summary>Draw pictures</summary>
  <developer id="org.example"><name>Example Developers</name></developer>
  <description><p>Not a <em>name</em>.</p></description>
  <releases>
    <release version="2.1" date="2026-02-01"><description><p>New</p></description></release>
    <release version='2.0' date="2026-01-01"/>
  </releases>
</component>"#;

    #[test]
    fn reads_the_components_own_fields() {
        let found = parse(METAINFO, "org.example.Paint", &[]).unwrap();
        assert_eq!(found.name.as_deref(), Some("Paint & Draw"));
        assert_eq!(found.summary.as_deref(), Some("Draw pictures"));
        assert_eq!(found.version.as_deref(), Some("2.1"));
        let german = parse(METAINFO, "org.example.Paint", &["de".to_owned()]).unwrap();
        assert_eq!(german.name.as_deref(), Some("Malen & Zeichnen"));
        assert_eq!(german.summary.as_deref(), Some("Draw pictures"));
    }

    #[test]
    fn picks_the_matching_component_of_a_collection() {
        let xml = r#"<components version="0.8">
          <component><id>org.other.App.desktop</id><name>Other</name></component>
          <component><id>org.mine.App.desktop</id><name><![CDATA[Mine]]></name>
            <releases><release version="3"/></releases></component>
        </components>"#;
        let found = parse(xml, "org.mine.App", &[]).unwrap();
        assert_eq!(found.name.as_deref(), Some("Mine"));
        assert_eq!(found.version.as_deref(), Some("3"));
        assert_eq!(parse(xml, "org.none.App", &[]), None);
    }

    #[test]
    fn survives_what_is_not_appstream() {
        for junk in [
            "",
            "<",
            "<component",
            "plain text",
            "<a><b></a>",
            "&",
            "<component><name>&#xZZ;</name></component>",
        ] {
            let _ = parse(junk, "x", &[]);
        }
        assert_eq!(
            unescape("a &lt; b &#65;&#x42; &bogus; &"),
            "a < b AB &bogus; &"
        );
    }
}
