//! Downloads as tables: a statement and the activity log as rows of text,
//! the same for the API and the console. Every cell a person may have typed
//! is made safe to open in a spreadsheet; amounts are plain decimals.

use super::{ActivityEntry, App, Statement};
use crate::edge::spreadsheet_cell;

/// A table ready to be written as CSV.
pub struct Table {
    /// The file name a download suggests.
    pub file_name: String,
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// The table as CSV bytes.
    pub fn to_csv(&self) -> Vec<u8> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        let _ = writer.write_record(&self.columns);
        for row in &self.rows {
            let _ = writer.write_record(row);
        }
        writer.into_inner().unwrap_or_default()
    }
}

fn safe(text: &str) -> String {
    spreadsheet_cell(text).into_owned()
}

impl App {
    /// A statement as a table: one row per entry with the running balance,
    /// after an opening row and before a closing one.
    pub fn statement_table(&self, s: &Statement) -> Table {
        let plain = |m| self.currency().format(m);
        let mut rows = vec![vec![
            s.from.map(|d| d.to_string()).unwrap_or_default(),
            "opening".to_string(),
            "Opening balance".to_string(),
            String::new(),
            String::new(),
            plain(s.opening_balance),
        ]];
        for l in &s.lines {
            let (debit, credit) = if l.delta.is_negative() {
                (String::new(), plain(-l.delta))
            } else {
                (plain(l.delta), String::new())
            };
            rows.push(vec![
                l.date.to_string(),
                l.kind.as_str().to_string(),
                safe(&l.description),
                debit,
                credit,
                plain(l.balance),
            ]);
        }
        rows.push(vec![
            s.to.map(|d| d.to_string()).unwrap_or_default(),
            "closing".to_string(),
            "Closing balance".to_string(),
            String::new(),
            String::new(),
            plain(s.closing_balance),
        ]);
        Table {
            file_name: format!("statement-{}.csv", s.customer.id),
            columns: vec!["date", "kind", "description", "debit", "credit", "balance"],
            rows,
        }
    }

    /// Activity entries as a table, with each entry's hash.
    pub fn activity_table(&self, entries: &[ActivityEntry]) -> Table {
        let json = |v: &Option<serde_json::Value>| {
            v.as_ref().map(|v| safe(&v.to_string())).unwrap_or_default()
        };
        Table {
            file_name: "activity.csv".to_string(),
            columns: vec![
                "seq",
                "at",
                "actor",
                "action",
                "entity",
                "entity_id",
                "before",
                "after",
                "hash",
            ],
            rows: entries
                .iter()
                .map(|e| {
                    vec![
                        e.seq.to_string(),
                        e.at.clone(),
                        safe(&e.actor),
                        e.action.clone(),
                        e.entity_type.clone(),
                        safe(&e.entity_id),
                        json(&e.before),
                        json(&e.after),
                        e.hash.clone(),
                    ]
                })
                .collect(),
        }
    }
}
