//! `$N` parameter lists for statements whose size depends on a batch (the
//! same numbering serves SQLite and PostgreSQL through sqlx's Any driver).

/// `(a, b, ..), (..)`: `rows` groups of `columns` parameters, numbered from `first`.
pub(super) fn value_rows(rows: usize, columns: usize, first: usize) -> String {
    (0..rows)
        .map(|r| format!("({})", list(columns, first + r * columns)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `$first, $first+1, ..`: `n` parameters.
pub(super) fn list(n: usize, first: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_run_on_across_rows() {
        assert_eq!(super::list(2, 3), "$3, $4");
        assert_eq!(super::value_rows(2, 3, 1), "($1, $2, $3), ($4, $5, $6)");
    }
}
