//! A small writer for EC2's XML: `<{Action}Response>` with its
//! `requestId`, nested members, and `<item>` for every list element.

use std::fmt::Write as _;

/// The namespace of the API version we answer as.
pub(crate) const NAMESPACE: &str = "http://ec2.amazonaws.com/doc/2016-11-15/";

/// Escapes text for element content.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// An XML body under construction.
#[derive(Debug, Default)]
pub(crate) struct Xml(String);

impl Xml {
    /// An empty body.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// `<name>text</name>` (escaped).
    pub(crate) fn leaf(&mut self, name: &str, text: impl std::fmt::Display) -> &mut Self {
        let text = escape(&text.to_string());
        let _ = write!(self.0, "<{name}>{text}</{name}>");
        self
    }

    /// [`Xml::leaf`] when `text` is `Some`, nothing otherwise.
    pub(crate) fn opt(&mut self, name: &str, text: Option<impl std::fmt::Display>) -> &mut Self {
        if let Some(t) = text {
            self.leaf(name, t);
        }
        self
    }

    /// `<name/>`.
    pub(crate) fn empty(&mut self, name: &str) -> &mut Self {
        let _ = write!(self.0, "<{name}/>");
        self
    }

    /// `<name>…</name>` with the members `f` writes.
    pub(crate) fn node(&mut self, name: &str, f: impl FnOnce(&mut Self)) -> &mut Self {
        let _ = write!(self.0, "<{name}>");
        f(self);
        let _ = write!(self.0, "</{name}>");
        self
    }

    /// `<name><item>…</item>…</name>`, one item per element of `items`.
    pub(crate) fn list<T>(
        &mut self,
        name: &str,
        items: impl IntoIterator<Item = T>,
        mut f: impl FnMut(&mut Self, T),
    ) -> &mut Self {
        let _ = write!(self.0, "<{name}>");
        for i in items {
            self.0.push_str("<item>");
            f(self, i);
            self.0.push_str("</item>");
        }
        let _ = write!(self.0, "</{name}>");
        self
    }

    /// The members written so far.
    pub(crate) fn into_inner(self) -> String {
        self.0
    }
}

/// A success document: `<{action}Response xmlns=…><requestId>…</requestId>{members}</…>`.
pub(crate) fn response(action: &str, request_id: &str, members: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{action}Response xmlns=\"{NAMESPACE}\"><requestId>{}</requestId>{members}</{action}Response>",
        escape(request_id)
    )
}

/// An error document.
pub(crate) fn error(code: &str, message: &str, request_id: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{}</Code><Message>{}</Message></Error></Errors><RequestID>{}</RequestID></Response>",
        escape(code),
        escape(message),
        escape(request_id)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_lists_as_items_and_escapes() {
        let mut x = Xml::new();
        x.leaf("name", "a<b&c")
            .empty("groupSet")
            .opt("none", None::<&str>)
            .list("keySet", ["k1", "k2"], |x, k| {
                x.leaf("keyName", k);
            })
            .node("state", |x| {
                x.leaf("code", 16);
            });
        assert_eq!(
            x.into_inner(),
            "<name>a&lt;b&amp;c</name><groupSet/><keySet><item><keyName>k1</keyName></item>\
             <item><keyName>k2</keyName></item></keySet><state><code>16</code></state>"
        );
        let doc = response("DescribeKeyPairs", "req-1", "<keySet/>");
        assert!(doc.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DescribeKeyPairsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>req-1</requestId><keySet/>"));
        assert!(doc.ends_with("</DescribeKeyPairsResponse>"));
        let e = error("InvalidKeyPair.NotFound", "no 'k'", "r");
        assert!(e.contains("<Errors><Error><Code>InvalidKeyPair.NotFound</Code><Message>no &apos;k&apos;</Message></Error></Errors><RequestID>r</RequestID>"));
    }
}
