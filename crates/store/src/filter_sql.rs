//! SCIM filters as SQL. A [`ScimFilter`] becomes a `WHERE` fragment over `users r` or
//! `directory_groups r` whose values are all bound parameters; the only text taken from the filter is attribute names,
//! which come from Portico's own schema or validated custom attribute names and are checked
//! again here. Columns with an index (`id`, `email`, `external_id`) are compared bare, so
//! `userName eq` and `externalId eq` are index lookups; JSON locations go through the
//! backend's JSON functions. Every fragment is true or false, never NULL, so `not` is exact.

use portico_core::StoreError;
use portico_core::scim::filter::CompareOp;
use portico_core::store::{Operand, ScimField, ScimFilter};

/// Which SQL the fragment is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// SQLite's JSON1 functions.
    Sqlite,
    /// PostgreSQL's jsonb operators.
    Postgres,
}

/// Which resource's table the fragment filters (aliased `r`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Table {
    /// `users`.
    Users,
    /// `directory_groups`.
    Groups,
}

/// A value bound to a parameter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Bind {
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

/// A built fragment and its parameters, numbered from the `first` the caller gave.
#[derive(Debug)]
pub(crate) struct Sql {
    pub(crate) text: String,
    pub(crate) binds: Vec<Bind>,
}

/// Where an element filter's fields live: a JSON list element, or a membership row `m`.
#[derive(Clone, Copy)]
enum ElementSource<'a> {
    Json(&'a str),
    Membership,
}

/// What a field is in SQL.
enum Expr {
    /// A column: `nullable` ones are checked for NULL first.
    Column { sql: &'static str, nullable: bool },
    /// A fixed value (the sign-in email's `type` and `primary`).
    Literal(Bind),
    /// A JSON location: document expression and path.
    Json { doc: String, path: Vec<String> },
    /// Nothing: never present, never equal.
    Absent,
}

struct Builder<'a> {
    dialect: Dialect,
    table: Table,
    binds: Vec<Bind>,
    first: usize,
    aliases: usize,
    element: Option<ElementSource<'a>>,
}

/// Builds the `WHERE` fragment of `filter`, its parameters numbered from `$first`.
pub(crate) fn where_clause(
    dialect: Dialect,
    table: Table,
    filter: &ScimFilter,
    first: usize,
) -> Result<Sql, StoreError> {
    let mut builder = Builder {
        dialect,
        table,
        binds: Vec::new(),
        first,
        aliases: 0,
        element: None,
    };
    let text = builder.filter(filter)?;
    Ok(Sql {
        text,
        binds: builder.binds,
    })
}

/// The `ORDER BY` list for a sort key (ties broken by id, so pages never overlap).
pub(crate) fn order_by(
    dialect: Dialect,
    table: Table,
    sort: Option<&ScimField>,
    descending: bool,
) -> Result<String, StoreError> {
    let dir = if descending { " DESC" } else { "" };
    let Some(field) = sort else {
        return Ok(format!("r.id{dir}"));
    };
    let mut builder = Builder {
        dialect,
        table,
        binds: Vec::new(),
        first: 0,
        aliases: 0,
        element: None,
    };
    let key = match builder.expr(field)? {
        Expr::Column {
            sql,
            nullable: false,
        } => return Ok(format!("{sql}{dir}, r.id{dir}")),
        Expr::Column { sql, .. } => sql.to_owned(),
        Expr::Json { doc, path } => builder.json_text(&doc, &path),
        Expr::Literal(_) | Expr::Absent => return Ok(format!("r.id{dir}")),
    };
    // Users without the value come last either way.
    Ok(format!(
        "CASE WHEN {key} IS NULL THEN 1 ELSE 0 END, {key}{dir}, r.id{dir}"
    ))
}

fn checked_segment(segment: &str) -> Result<&str, StoreError> {
    let ok = !segment.is_empty()
        && segment
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':' | '.' | '$'));
    if ok {
        Ok(segment)
    } else {
        Err(StoreError::Backend(format!(
            "attribute name {segment:?} cannot be queried"
        )))
    }
}

impl Builder<'_> {
    fn false_sql(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => "0",
            Dialect::Postgres => "FALSE",
        }
    }

    fn true_sql(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => "1",
            Dialect::Postgres => "TRUE",
        }
    }

    fn param(&mut self, bind: Bind) -> String {
        self.binds.push(bind);
        let n = self.first + self.binds.len() - 1;
        match (self.dialect, self.binds.last()) {
            // PostgreSQL needs the type where the context does not give it.
            (Dialect::Postgres, Some(Bind::Text(_))) => format!("${n}::text"),
            (Dialect::Postgres, Some(Bind::Float(_))) => format!("${n}::float8"),
            (Dialect::Postgres, Some(Bind::Bool(_))) => format!("${n}::boolean"),
            (Dialect::Postgres, Some(Bind::Int(_))) => format!("${n}::bigint"),
            _ => format!("${n}"),
        }
    }

    fn filter(&mut self, filter: &ScimFilter) -> Result<String, StoreError> {
        Ok(match filter {
            ScimFilter::Not(inner) => format!("(NOT {})", self.filter(inner)?),
            ScimFilter::And(a, b) => format!("({} AND {})", self.filter(a)?, self.filter(b)?),
            ScimFilter::Or(a, b) => format!("({} OR {})", self.filter(a)?, self.filter(b)?),
            ScimFilter::Present(field) => self.present(field)?,
            ScimFilter::Compare(field, op, operand) => self.compare(field, *op, operand)?,
            ScimFilter::Any { list, element } => self.any(list, element)?,
            ScimFilter::Membership(element) => self.membership(element)?,
        })
    }

    fn expr(&mut self, field: &ScimField) -> Result<Expr, StoreError> {
        let column = |sql, nullable| Ok(Expr::Column { sql, nullable });
        let users = self.table == Table::Users;
        match field {
            ScimField::Id => column("r.id", false),
            ScimField::ExternalId => column("r.external_id", true),
            ScimField::DisplayName => column("r.display_name", users),
            ScimField::Created => column("r.created_at", false),
            ScimField::LastModified if users => {
                column("COALESCE(r.updated_at, r.created_at)", false)
            }
            ScimField::LastModified => column("r.updated_at", false),
            ScimField::UserName
            | ScimField::Active
            | ScimField::Attribute(_)
            | ScimField::Profile(_)
                if !users =>
            {
                Err(StoreError::Backend(
                    "a user attribute in a group filter".into(),
                ))
            }
            ScimField::UserName => column("r.email", false),
            ScimField::Active => column("r.enabled", false),
            ScimField::Attribute(name) => Ok(Expr::Json {
                doc: self.doc("r.attributes"),
                path: vec![checked_segment(name)?.to_owned()],
            }),
            ScimField::Profile(path) => Ok(Expr::Json {
                doc: self.doc("r.scim"),
                path: path
                    .iter()
                    .map(|s| checked_segment(s).map(str::to_owned))
                    .collect::<Result<_, _>>()?,
            }),
            ScimField::Element(key) => match self.element {
                Some(ElementSource::Json(alias)) => Ok(Expr::Json {
                    doc: alias.to_owned(),
                    path: vec![checked_segment(key)?.to_owned()],
                }),
                Some(ElementSource::Membership) => Ok(match (self.table, key.as_str()) {
                    (Table::Users, "value") => Expr::Column {
                        sql: "m.group_id",
                        nullable: false,
                    },
                    (Table::Users, "type") => Expr::Literal(Bind::Text("direct".into())),
                    (Table::Groups, "value") => Expr::Column {
                        sql: "m.member_id",
                        nullable: false,
                    },
                    (Table::Groups, "type") => Expr::Column {
                        sql: "m.member_type",
                        nullable: false,
                    },
                    _ => Expr::Absent,
                }),
                None => Err(StoreError::Backend(
                    "an element field outside a list filter".into(),
                )),
            },
        }
    }

    /// A text JSON column as a document expression.
    fn doc(&self, column: &str) -> String {
        match self.dialect {
            Dialect::Sqlite => column.to_owned(),
            Dialect::Postgres => format!("({column})::jsonb"),
        }
    }

    fn sqlite_path(path: &[String]) -> String {
        let mut out = String::from("'$");
        for segment in path {
            out.push_str(&format!(".\"{segment}\""));
        }
        out.push('\'');
        out
    }

    fn pg_path(path: &[String]) -> String {
        format!("'{{{}}}'", path.join(","))
    }

    /// The JSON type test: `sqlite` and `postgres` name the same type in each dialect.
    fn json_is(&self, doc: &str, path: &[String], sqlite: &[&str], postgres: &str) -> String {
        match self.dialect {
            Dialect::Sqlite => {
                let types: Vec<String> = sqlite.iter().map(|t| format!("'{t}'")).collect();
                format!(
                    "COALESCE(json_type({doc}, {}) IN ({}), 0)",
                    Self::sqlite_path(path),
                    types.join(", ")
                )
            }
            Dialect::Postgres => format!(
                "COALESCE(jsonb_typeof({doc} #> {}) = '{postgres}', FALSE)",
                Self::pg_path(path)
            ),
        }
    }

    fn json_text(&self, doc: &str, path: &[String]) -> String {
        match self.dialect {
            Dialect::Sqlite => format!("json_extract({doc}, {})", Self::sqlite_path(path)),
            Dialect::Postgres => format!("({doc} #>> {})", Self::pg_path(path)),
        }
    }

    fn present(&mut self, field: &ScimField) -> Result<String, StoreError> {
        Ok(match self.expr(field)? {
            Expr::Column {
                sql,
                nullable: true,
            } => format!("({sql} IS NOT NULL AND {sql} <> '')"),
            Expr::Column { .. } | Expr::Literal(_) => self.true_sql().to_owned(),
            Expr::Absent => self.false_sql().to_owned(),
            Expr::Json { doc, path } => match self.dialect {
                Dialect::Sqlite => format!(
                    "COALESCE(json_type({doc}, {}) <> 'null', 0)",
                    Self::sqlite_path(&path)
                ),
                Dialect::Postgres => format!(
                    "COALESCE(jsonb_typeof({doc} #> {}) <> 'null', FALSE)",
                    Self::pg_path(&path)
                ),
            },
        })
    }

    fn compare(
        &mut self,
        field: &ScimField,
        op: CompareOp,
        operand: &Operand,
    ) -> Result<String, StoreError> {
        if op == CompareOp::Ne {
            let eq = self.compare(field, CompareOp::Eq, operand)?;
            return Ok(format!("(NOT {eq})"));
        }
        let expr = self.expr(field)?;
        let (guard, left) = match (&expr, operand) {
            (Expr::Absent, _) => return Ok(self.false_sql().to_owned()),
            (Expr::Literal(value), _) => {
                let same_type = matches!(
                    (value, operand),
                    (Bind::Text(_), Operand::Text { .. }) | (Bind::Bool(_), Operand::Bool(_))
                );
                if !same_type {
                    return Ok(self.false_sql().to_owned());
                }
                let left = self.param(value.clone());
                (None, left)
            }
            (Expr::Column { sql, nullable }, _) => (
                nullable.then(|| format!("{sql} IS NOT NULL")),
                (*sql).to_owned(),
            ),
            (Expr::Json { doc, path }, Operand::Text { .. }) => (
                Some(self.json_is(doc, path, &["text"], "string")),
                self.json_text(doc, path),
            ),
            (Expr::Json { doc, path }, Operand::Bool(_)) => (
                Some(self.json_is(doc, path, &["true", "false"], "boolean")),
                match self.dialect {
                    Dialect::Sqlite => self.json_text(doc, path),
                    Dialect::Postgres => format!("({doc} #> {})", Self::pg_path(path)),
                },
            ),
            (Expr::Json { doc, path }, Operand::Number(_) | Operand::Time(_)) => (
                Some(self.json_is(doc, path, &["integer", "real"], "number")),
                match self.dialect {
                    Dialect::Sqlite => self.json_text(doc, path),
                    Dialect::Postgres => format!("({doc} #> {})", Self::pg_path(path)),
                },
            ),
        };
        let is_json_pg = matches!(expr, Expr::Json { .. }) && self.dialect == Dialect::Postgres;
        let test = match operand {
            Operand::Text { value, case_exact } => {
                let right = self.param(Bind::Text(value.clone()));
                let (left, right) = if *case_exact {
                    (left, right)
                } else {
                    (format!("lower({left})"), format!("lower({right})"))
                };
                self.text_test(&left, op, &right)
            }
            Operand::Bool(value) => {
                let right = self.param(Bind::Bool(*value));
                let right = if is_json_pg {
                    format!("to_jsonb({right})")
                } else {
                    right
                };
                format!("{left} {} {right}", symbol(op))
            }
            Operand::Number(value) => {
                let right = self.param(Bind::Float(*value));
                let right = if is_json_pg {
                    format!("to_jsonb({right})")
                } else {
                    right
                };
                format!("{left} {} {right}", symbol(op))
            }
            Operand::Time(value) => {
                let right = self.param(Bind::Int(*value));
                format!("{left} {} {right}", symbol(op))
            }
        };
        Ok(match guard {
            Some(guard) => format!("({guard} AND {test})"),
            None => format!("({test})"),
        })
    }

    fn text_test(&self, left: &str, op: CompareOp, right: &str) -> String {
        let pg = self.dialect == Dialect::Postgres;
        match op {
            CompareOp::Co if pg => format!("strpos({left}, {right}) > 0"),
            CompareOp::Co => format!("instr({left}, {right}) > 0"),
            CompareOp::Sw if pg => format!("starts_with({left}, {right})"),
            CompareOp::Sw => format!("substr({left}, 1, length({right})) = {right}"),
            CompareOp::Ew if pg => format!("right({left}, length({right})) = {right}"),
            CompareOp::Ew => {
                format!("(length({right}) = 0 OR substr({left}, -length({right})) = {right})")
            }
            // Equality needs no collation (and keeps the index usable).
            CompareOp::Eq => format!("{left} = {right}"),
            // Order by bytes, the same on both backends whatever the database's collation.
            _ if pg => format!("{left} COLLATE \"C\" {} {right}", symbol(op)),
            _ => format!("{left} {} {right}", symbol(op)),
        }
    }

    fn any(&mut self, list: &[String], element: &ScimFilter) -> Result<String, StoreError> {
        let path: Vec<String> = list
            .iter()
            .map(|s| checked_segment(s).map(str::to_owned))
            .collect::<Result<_, _>>()?;
        if self.element.is_some() {
            return Err(StoreError::Backend("a list filter inside another".into()));
        }
        self.aliases += 1;
        let alias = format!("e{}", self.aliases);
        let (source, value) = match self.dialect {
            Dialect::Sqlite => (
                format!("json_each(r.scim, {}) AS {alias}", Self::sqlite_path(&path)),
                format!("{alias}.value"),
            ),
            Dialect::Postgres => {
                let list = format!("(r.scim)::jsonb #> {}", Self::pg_path(&path));
                (
                    format!(
                        "jsonb_array_elements(CASE WHEN jsonb_typeof({list}) = 'array' THEN {list} ELSE '[]'::jsonb END) AS {alias}(v)"
                    ),
                    format!("{alias}.v"),
                )
            }
        };
        let inner = {
            let mut nested = Builder {
                dialect: self.dialect,
                table: self.table,
                binds: std::mem::take(&mut self.binds),
                first: self.first,
                aliases: self.aliases,
                element: Some(ElementSource::Json(&value)),
            };
            let sql = nested.filter(element)?;
            self.binds = nested.binds;
            self.aliases = nested.aliases;
            sql
        };
        Ok(format!("EXISTS (SELECT 1 FROM {source} WHERE {inner})"))
    }
}

impl Builder<'_> {
    /// Some membership row matches: a user's direct groups, or a group's members.
    fn membership(&mut self, element: &ScimFilter) -> Result<String, StoreError> {
        if self.element.is_some() {
            return Err(StoreError::Backend("a list filter inside another".into()));
        }
        let mut nested = Builder {
            dialect: self.dialect,
            table: self.table,
            binds: std::mem::take(&mut self.binds),
            first: self.first,
            aliases: self.aliases,
            element: Some(ElementSource::Membership),
        };
        let inner = nested.filter(element)?;
        self.binds = nested.binds;
        let side = match self.table {
            Table::Users => "m.member_id",
            Table::Groups => "m.group_id",
        };
        Ok(format!(
            "EXISTS (SELECT 1 FROM group_members m WHERE m.tenant_id = r.tenant_id AND {side} = r.id AND {inner})"
        ))
    }
}

fn symbol(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Eq | CompareOp::Co | CompareOp::Sw | CompareOp::Ew => "=",
        CompareOp::Ne => "<>",
        CompareOp::Gt => ">",
        CompareOp::Ge => ">=",
        CompareOp::Lt => "<",
        CompareOp::Le => "<=",
    }
}
