//! Parameter lists for statements whose size depends on a batch.
//!
//! PostgreSQL gets `$N`. SQLite gets anonymous `?`: sqlx asks SQLite for the
//! name of every parameter it binds, and SQLite finds a name by a linear scan
//! of the statement's named parameters, so with `$N` a statement's binding
//! cost grows with the square of its parameters (a 128-parameter INSERT of
//! execution logs made that scan 1.4% of the refresh path's CPU). Anonymous
//! parameters have no names to scan. The price: on SQLite every parameter of
//! a statement built with these must be anonymous and bound in the order it
//! appears (sqlx numbers `?` by counting, ignoring `$N` around them).

use super::Backend;

/// `(a, b, ..), (..)`: `rows` groups of `columns` parameters, numbered from
/// `first` on PostgreSQL.
pub(super) fn value_rows(backend: Backend, rows: usize, columns: usize, first: usize) -> String {
    (0..rows)
        .map(|r| format!("({})", list(backend, columns, first + r * columns)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `n` parameters, numbered from `first` on PostgreSQL.
pub(super) fn list(backend: Backend, n: usize, first: usize) -> String {
    match backend {
        Backend::Sqlite => vec!["?"; n].join(", "),
        Backend::Postgres => (first..first + n)
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

#[cfg(test)]
mod tests {
    use super::Backend::{Postgres, Sqlite};

    #[test]
    fn postgres_numbers_run_on_across_rows() {
        assert_eq!(super::list(Postgres, 2, 3), "$3, $4");
        assert_eq!(
            super::value_rows(Postgres, 2, 3, 1),
            "($1, $2, $3), ($4, $5, $6)"
        );
    }

    #[test]
    fn sqlite_parameters_are_anonymous() {
        assert_eq!(super::list(Sqlite, 2, 3), "?, ?");
        assert_eq!(super::value_rows(Sqlite, 2, 2, 1), "(?, ?), (?, ?)");
    }
}
