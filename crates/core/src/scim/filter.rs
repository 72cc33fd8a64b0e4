//! SCIM filters (RFC 7644 §3.4.2.2) and PATCH paths (§3.5.2), parsed into a tree. The store
//! turns a resolved tree into SQL; PATCH evaluates one against the elements of a multi-valued
//! attribute. Keywords and operators are case-insensitive; precedence is `not`, then `and`,
//! then `or`; parentheses group.
//!
//! Beyond the RFC's grammar, a value path may be followed by a sub-attribute and a comparison
//! (`emails[type eq "work"].value eq "a@b.example"`), which means the same element must match
//! both: the shape clients write when they think in PATCH paths.

use std::fmt;

/// The longest filter or path accepted, in bytes.
pub const MAX_FILTER_LEN: usize = 4096;
/// The most comparisons one filter may hold.
pub const MAX_FILTER_TERMS: usize = 64;
/// The deepest nesting of parentheses and `not`.
pub const MAX_FILTER_DEPTH: usize = 16;

/// An attribute named in a filter or path: `[schema:]name[.sub]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    /// The schema URN that qualifies the name, if given.
    pub schema: Option<String>,
    /// The attribute, as written (names are matched case-insensitively).
    pub name: String,
    /// The sub-attribute of a complex attribute.
    pub sub: Option<String>,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// `eq`
    Eq,
    /// `ne`
    Ne,
    /// `co` (contains)
    Co,
    /// `sw` (starts with)
    Sw,
    /// `ew` (ends with)
    Ew,
    /// `gt`
    Gt,
    /// `ge`
    Ge,
    /// `lt`
    Lt,
    /// `le`
    Le,
}

/// A literal a comparison compares with.
#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    /// `null`
    Null,
    /// `true` or `false`
    Bool(bool),
    /// A JSON number.
    Number(serde_json::Number),
    /// A JSON string.
    Str(String),
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `attr pr`: the attribute has a value.
    Present(AttrPath),
    /// `attr op value`.
    Compare(AttrPath, CompareOp, CompValue),
    /// `not (f)`.
    Not(Box<Filter>),
    /// `f and g`.
    And(Box<Filter>, Box<Filter>),
    /// `f or g`.
    Or(Box<Filter>, Box<Filter>),
    /// `attr[f]`: some element of a multi-valued attribute matches `f`, whose paths name the
    /// element's sub-attributes.
    Has(AttrPath, Box<Filter>),
}

/// A PATCH path: an attribute, optionally narrowed to the elements a filter selects, and
/// optionally one sub-attribute of those elements.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    /// The attribute (with its sub-attribute when no filter is given).
    pub attr: AttrPath,
    /// `[filter]`: which elements of a multi-valued attribute.
    pub filter: Option<Filter>,
    /// `.sub` after the filter.
    pub sub: Option<String>,
}

/// Why a filter or path does not parse; the message is safe to show to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FilterError(pub String);

fn fail<T>(message: impl Into<String>) -> Result<T, FilterError> {
    Err(FilterError(message.into()))
}

/// Parses a filter.
pub fn parse_filter(text: &str) -> Result<Filter, FilterError> {
    let mut parser = Parser::new(text)?;
    let filter = parser.or_expr(false)?;
    match parser.next() {
        None => Ok(filter),
        Some(token) => fail(format!("unexpected {token} in filter")),
    }
}

/// Parses a PATCH path (`attr`, `attr.sub`, `attr[filter]`, `attr[filter].sub`).
pub fn parse_patch_path(text: &str) -> Result<PatchPath, FilterError> {
    let mut parser = Parser::new(text)?;
    let attr = match parser.next() {
        Some(Token::Word(word)) => AttrPath::parse(&word)?,
        Some(token) => return fail(format!("a path starts with an attribute, not {token}")),
        None => return fail("the path is empty"),
    };
    let mut path = PatchPath {
        attr,
        filter: None,
        sub: None,
    };
    if parser.peek() == Some(&Token::Open('[')) {
        if path.attr.sub.is_some() {
            return fail("a filter follows an attribute, not a sub-attribute");
        }
        parser.next();
        path.filter = Some(parser.or_expr(true)?);
        parser.expect(Token::Close(']'))?;
        if let Some(Token::Word(word)) = parser.peek() {
            let sub = word
                .strip_prefix('.')
                .ok_or_else(|| FilterError(format!("unexpected {word:?} after ]")))?;
            check_name(sub)?;
            path.sub = Some(sub.to_owned());
            parser.next();
        }
    }
    match parser.next() {
        None => Ok(path),
        Some(token) => fail(format!("unexpected {token} in path")),
    }
}

impl AttrPath {
    /// Reads `[urn:…:]name[.sub]`.
    pub fn parse(word: &str) -> Result<Self, FilterError> {
        let is_urn = word
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case("urn:"));
        let (schema, rest) = if is_urn {
            match word.rsplit_once(':') {
                Some((schema, rest)) if schema.len() > 4 => (Some(schema.to_owned()), rest),
                _ => return fail(format!("{word:?} names a schema but no attribute")),
            }
        } else {
            (None, word)
        };
        let (name, sub) = match rest.split_once('.') {
            Some((name, sub)) => (name, Some(sub)),
            None => (rest, None),
        };
        check_name(name)?;
        if let Some(sub) = sub {
            check_name(sub)?;
        }
        Ok(Self {
            schema,
            name: name.to_owned(),
            sub: sub.map(str::to_owned),
        })
    }

    /// A path of just a name.
    pub fn named(name: &str) -> Self {
        Self {
            schema: None,
            name: name.to_owned(),
            sub: None,
        }
    }
}

/// ATTRNAME = ALPHA *(nameChar), and `$ref`.
fn check_name(name: &str) -> Result<(), FilterError> {
    let ok = name == "$ref"
        || (name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'));
    if ok {
        Ok(())
    } else {
        fail(format!("{name:?} is not an attribute name"))
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open(char),
    Close(char),
    Word(String),
    Str(String),
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Open(c) | Token::Close(c) => write!(f, "{c:?}"),
            Token::Word(w) => write!(f, "{w:?}"),
            Token::Str(_) => f.write_str("a string"),
        }
    }
}

fn tokens(text: &str) -> Result<Vec<Token>, FilterError> {
    if text.len() > MAX_FILTER_LEN {
        return fail(format!("longer than {MAX_FILTER_LEN} bytes"));
    }
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        match c {
            ' ' | '\t' | '\n' | '\r' => {
                chars.next();
            }
            '(' | '[' => {
                chars.next();
                out.push(Token::Open(c));
            }
            ')' | ']' => {
                chars.next();
                out.push(Token::Close(c));
            }
            '"' => {
                chars.next();
                let mut escaped = false;
                let mut end = None;
                for (at, c) in chars.by_ref() {
                    match (escaped, c) {
                        (true, _) => escaped = false,
                        (false, '\\') => escaped = true,
                        (false, '"') => {
                            end = Some(at);
                            break;
                        }
                        _ => {}
                    }
                }
                let end = end.ok_or_else(|| FilterError("unterminated string".into()))?;
                let literal = text.get(start..=end).unwrap_or_default();
                let value: String = serde_json::from_str(literal)
                    .map_err(|_| FilterError(format!("{literal} is not a JSON string")))?;
                out.push(Token::Str(value));
            }
            c if is_word_char(c) => {
                let mut end = start;
                while let Some(&(at, c)) = chars.peek() {
                    if !is_word_char(c) {
                        break;
                    }
                    end = at + c.len_utf8();
                    chars.next();
                }
                out.push(Token::Word(
                    text.get(start..end).unwrap_or_default().to_owned(),
                ));
            }
            other => return fail(format!("unexpected character {other:?}")),
        }
    }
    Ok(out)
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':' | '.' | '$' | '+')
}

struct Parser {
    tokens: std::iter::Peekable<std::vec::IntoIter<Token>>,
    depth: usize,
    terms: usize,
}

impl Parser {
    fn new(text: &str) -> Result<Self, FilterError> {
        Ok(Self {
            tokens: tokens(text)?.into_iter().peekable(),
            depth: 0,
            terms: 0,
        })
    }

    fn next(&mut self) -> Option<Token> {
        self.tokens.next()
    }

    fn peek(&mut self) -> Option<&Token> {
        self.tokens.peek()
    }

    fn expect(&mut self, want: Token) -> Result<(), FilterError> {
        match self.next() {
            Some(token) if token == want => Ok(()),
            Some(token) => fail(format!("expected {want}, found {token}")),
            None => fail(format!("expected {want} at the end")),
        }
    }

    fn keyword(&mut self, word: &str) -> bool {
        let found = matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word));
        if found {
            self.next();
        }
        found
    }

    /// `inner`: inside `[…]`, where paths are relative and cannot hold another value path.
    fn or_expr(&mut self, inner: bool) -> Result<Filter, FilterError> {
        let mut left = self.and_expr(inner)?;
        while self.keyword("or") {
            let right = self.and_expr(inner)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self, inner: bool) -> Result<Filter, FilterError> {
        let mut left = self.unary(inner)?;
        while self.keyword("and") {
            let right = self.unary(inner)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self, inner: bool) -> Result<Filter, FilterError> {
        self.depth += 1;
        if self.depth > MAX_FILTER_DEPTH {
            return fail(format!("nested deeper than {MAX_FILTER_DEPTH}"));
        }
        let negated = self.keyword("not");
        let filter = if negated || self.peek() == Some(&Token::Open('(')) {
            self.expect(Token::Open('('))?;
            let filter = self.or_expr(inner)?;
            self.expect(Token::Close(')'))?;
            filter
        } else {
            self.attr_expr(inner)?
        };
        self.depth -= 1;
        Ok(if negated {
            Filter::Not(Box::new(filter))
        } else {
            filter
        })
    }

    fn attr_expr(&mut self, inner: bool) -> Result<Filter, FilterError> {
        self.terms += 1;
        if self.terms > MAX_FILTER_TERMS {
            return fail(format!("more than {MAX_FILTER_TERMS} comparisons"));
        }
        let path = match self.next() {
            Some(Token::Word(word)) => AttrPath::parse(&word)?,
            Some(token) => return fail(format!("expected an attribute, found {token}")),
            None => return fail("expected an attribute at the end"),
        };
        if self.peek() != Some(&Token::Open('[')) {
            return self.comparison(path);
        }
        if inner {
            return fail("a value filter cannot hold another");
        }
        if path.sub.is_some() {
            return fail("a value filter follows an attribute, not a sub-attribute");
        }
        self.next();
        self.depth += 1;
        let mut element = self.or_expr(true)?;
        self.depth -= 1;
        self.expect(Token::Close(']'))?;
        // `attr[f].sub op value`: the same element must also match the comparison.
        if let Some(Token::Word(word)) = self.peek()
            && let Some(sub) = word.strip_prefix('.')
        {
            let sub = AttrPath::parse(sub)?;
            self.next();
            let extra = self.comparison(sub)?;
            element = Filter::And(Box::new(element), Box::new(extra));
        }
        Ok(Filter::Has(path, Box::new(element)))
    }

    fn comparison(&mut self, path: AttrPath) -> Result<Filter, FilterError> {
        let op = match self.next() {
            Some(Token::Word(op)) => op.to_ascii_lowercase(),
            Some(token) => return fail(format!("expected an operator, found {token}")),
            None => return fail("expected an operator at the end"),
        };
        let op = match op.as_str() {
            "pr" => return Ok(Filter::Present(path)),
            "eq" => CompareOp::Eq,
            "ne" => CompareOp::Ne,
            "co" => CompareOp::Co,
            "sw" => CompareOp::Sw,
            "ew" => CompareOp::Ew,
            "gt" => CompareOp::Gt,
            "ge" => CompareOp::Ge,
            "lt" => CompareOp::Lt,
            "le" => CompareOp::Le,
            other => return fail(format!("{other:?} is not an operator")),
        };
        let value = match self.next() {
            Some(Token::Str(s)) => CompValue::Str(s),
            Some(Token::Word(w)) => match w.to_ascii_lowercase().as_str() {
                "true" => CompValue::Bool(true),
                "false" => CompValue::Bool(false),
                "null" => CompValue::Null,
                _ => CompValue::Number(
                    serde_json::from_str(&w)
                        .map_err(|_| FilterError(format!("{w:?} is not a value")))?,
                ),
            },
            Some(token) => return fail(format!("expected a value, found {token}")),
            None => return fail("expected a value at the end"),
        };
        Ok(Filter::Compare(path, op, value))
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(schema) = &self.schema {
            write!(f, "{schema}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        })
    }
}

impl fmt::Display for CompValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompValue::Null => f.write_str("null"),
            CompValue::Bool(b) => write!(f, "{b}"),
            CompValue::Number(n) => write!(f, "{n}"),
            CompValue::Str(s) => write!(f, "{}", serde_json::Value::String(s.clone())),
        }
    }
}

/// The canonical text of a filter: fully parenthesised, so it parses back to the same tree.
impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::Present(path) => write!(f, "{path} pr"),
            Filter::Compare(path, op, value) => write!(f, "{path} {op} {value}"),
            Filter::Not(inner) => write!(f, "not ({inner})"),
            Filter::And(a, b) => write!(f, "({a} and {b})"),
            Filter::Or(a, b) => write!(f, "({a} or {b})"),
            Filter::Has(path, inner) => write!(f, "{path}[{inner}]"),
        }
    }
}

#[cfg(test)]
mod tests;
