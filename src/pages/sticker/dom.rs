//! The handful of DOM operations the landing page is built with: an element builder and a
//! [`Part`], a place on the page whose content is rebuilt when what it shows changes.
//!
//! Written by hand for the landing page's size budget (80 KB with brotli for everything a
//! customer's phone downloads): Leptos's renderer and reactive graph alone were about a third of
//! the page's WebAssembly. The page has one state (`state::landing::LandingModel`) and few
//! places that change, so comparing a key per place does the reactive system's job here.

use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Document, Element, Node};

/// What a DOM call that should not fail answers when it does (no window, a refused element).
pub type DomResult<T> = Result<T, JsValue>;

/// The page's document.
pub fn document() -> DomResult<Document> {
    web_sys::window().and_then(|w| w.document()).ok_or(JsValue::NULL)
}

/// An element being built: `el("p")?.class("hint").text(line)`.
pub struct El(Element);

/// A new element with the tag `tag`.
pub fn el(tag: &str) -> DomResult<El> {
    Ok(El(document()?.create_element(tag)?))
}

impl El {
    /// Sets an attribute (a name this module's callers spell as constants, so it cannot be
    /// refused).
    #[must_use]
    pub fn attr(self, name: &str, value: &str) -> Self {
        let _ = self.0.set_attribute(name, value);
        self
    }

    /// Sets `class`.
    #[must_use]
    pub fn class(self, class: &str) -> Self {
        self.attr("class", class)
    }

    /// Sets `id`.
    #[must_use]
    pub fn id(self, id: &str) -> Self {
        self.attr("id", id)
    }

    /// Appends a text.
    #[must_use]
    pub fn text(self, text: &str) -> Self {
        let _ = self.0.append_with_str_1(text);
        self
    }

    /// Appends a child element.
    #[must_use]
    pub fn child(self, child: impl Into<Option<El>>) -> Self {
        if let Some(child) = child.into() {
            let _ = self.0.append_with_node_1(&child.0);
        }
        self
    }

    /// Appends an element built earlier and kept (a field the page reads and writes).
    #[must_use]
    pub fn node(self, node: &Node) -> Self {
        let _ = self.0.append_with_node_1(node);
        self
    }

    /// Appends a [`Part`]'s place, to be filled later.
    #[must_use]
    pub fn part<K>(self, part: &Part<K>) -> Self {
        let _ = self.0.append_with_node_1(&part.anchor);
        self
    }

    /// The element built.
    pub fn done(self) -> Element {
        self.0
    }

    /// The element built, as the element type its tag makes.
    pub fn done_as<T: JsCast>(self) -> T {
        self.0.unchecked_into()
    }
}

/// A place on the page whose content (one element or none) depends on a key, and is built
/// anew only when the key changes: typing in a field changes the model, but rebuilds nothing
/// that does not show it.
pub struct Part<K> {
    /// Where the content goes: an empty text node, invisible to layout and CSS.
    anchor: Node,
    shown: Option<Element>,
    key: Option<K>,
}

impl<K: PartialEq> Part<K> {
    /// An empty place, not yet on the page (see [`El::part`]).
    pub fn new() -> DomResult<Self> {
        Ok(Self { anchor: document()?.create_text_node("").into(), shown: None, key: None })
    }

    /// Shows what `build` makes of `key`, unless the place already shows that key.
    pub fn show(&mut self, key: K, build: impl FnOnce(&K) -> DomResult<Option<El>>) -> DomResult<()> {
        if self.key.as_ref() == Some(&key) {
            return Ok(());
        }
        let content = build(&key)?;
        if let Some(old) = self.shown.take() {
            old.remove();
        }
        if let Some(content) = content {
            let Some(parent) = self.anchor.parent_node() else { return Err(JsValue::NULL) };
            parent.insert_before(&content.0, self.anchor.next_sibling().as_ref())?;
            self.shown = Some(content.0);
        }
        self.key = Some(key);
        Ok(())
    }
}

/// What `build` makes, if `shown`.
pub fn when(shown: bool, build: impl FnOnce() -> DomResult<El>) -> DomResult<Option<El>> {
    shown.then(build).transpose()
}

/// Sets or removes a boolean attribute (`disabled`).
pub fn flag(element: &Element, name: &str, on: bool) {
    let _ = if on { element.set_attribute(name, "") } else { element.remove_attribute(name) };
}
