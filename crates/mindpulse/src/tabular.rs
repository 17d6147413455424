//! Flat tables as `export` writes them: one column list, rows of typed cells, and three
//! formats from the same rows. CSV (text cells a spreadsheet could run as a formula are
//! neutralized), JSON lines (one object per row, nulls kept), and Parquet (typed columns,
//! times as UTC microseconds, lists as Parquet LISTs, Snappy-compressed, written in row
//! groups so that memory stays bounded, with `mindpulse.*` key-value metadata).
//!
//! The Parquet writer is the `parquet` crate's low-level one (no Arrow): pyarrow, pandas,
//! DuckDB, R's arrow and Spark read the files with the types below.

use anyhow::{bail, Context as _};
use chrono::{DateTime, Utc};
use parquet::basic::Compression;
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int64Type};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use std::io::Write;
use std::sync::Arc;

/// Rows buffered per Parquet row group.
const ROW_GROUP: usize = 65_536;

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Int,
    Float,
    Bool,
    Text,
    /// A UTC instant (RFC 3339 in CSV and JSON).
    Time,
    /// A list of texts (`|`-joined in CSV).
    TextList,
}

/// A column: its name, what it holds, and whether a cell may be empty.
#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub kind: Kind,
    pub nullable: bool,
}

impl Column {
    pub fn new(name: impl Into<String>, kind: Kind, nullable: bool) -> Column {
        Column {
            name: name.into(),
            kind,
            nullable,
        }
    }

    /// Columns from `(name, kind, nullable)` triples.
    pub fn list(spec: &[(&str, Kind, bool)]) -> Vec<Column> {
        spec.iter()
            .map(|&(name, kind, nullable)| Column::new(name, kind, nullable))
            .collect()
    }
}

/// One cell of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(String),
    Time(DateTime<Utc>),
    List(Vec<String>),
}

impl Cell {
    pub fn text(t: Option<&str>) -> Cell {
        t.map_or(Cell::Null, |t| Cell::Text(t.to_string()))
    }

    pub fn int(v: Option<i64>) -> Cell {
        v.map_or(Cell::Null, Cell::Int)
    }

    pub fn float(v: Option<f64>) -> Cell {
        v.map_or(Cell::Null, Cell::Float)
    }

    /// The cell as CSV writes it.
    fn csv(&self) -> String {
        match self {
            Cell::Null => String::new(),
            Cell::Int(v) => v.to_string(),
            Cell::Float(v) => v.to_string(),
            Cell::Bool(v) => v.to_string(),
            Cell::Text(t) => safe_cell(t).into_owned(),
            Cell::Time(t) => t.to_rfc3339(),
            Cell::List(l) => safe_cell(&l.join("|")).into_owned(),
        }
    }

    /// The cell as JSON lines write it.
    fn json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Cell::Null => Value::Null,
            Cell::Int(v) => Value::from(*v),
            Cell::Float(v) => serde_json::Number::from_f64(*v).map_or(Value::Null, Value::Number),
            Cell::Bool(v) => Value::Bool(*v),
            Cell::Text(t) => Value::String(t.clone()),
            Cell::Time(t) => Value::String(t.to_rfc3339()),
            Cell::List(l) => Value::from(l.clone()),
        }
    }
}

/// A CSV cell a spreadsheet will not run as a formula: text starting with `=`, `+`, `-`,
/// `@`, a tab or a carriage return gets a leading `'` (numbers are left as they are).
pub fn safe_cell(cell: &str) -> std::borrow::Cow<'_, str> {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && cell.parse::<f64>().is_err() {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Jsonl,
    Parquet,
}

/// Writes rows of one table in one format.
pub struct TableWriter<W: Write + Send> {
    columns: Vec<Column>,
    sink: Sink<W>,
}

enum Sink<W: Write + Send> {
    Csv(Box<csv::Writer<W>>),
    Jsonl(W),
    Parquet(Box<ParquetSink<W>>),
}

impl<W: Write + Send> TableWriter<W> {
    /// Starts the table (the CSV header, the Parquet schema and metadata).
    pub fn new(
        out: W,
        format: Format,
        columns: Vec<Column>,
        metadata: &[(&str, String)],
    ) -> anyhow::Result<TableWriter<W>> {
        let sink = match format {
            Format::Csv => {
                let mut w = csv::Writer::from_writer(out);
                w.write_record(columns.iter().map(|c| c.name.as_str()))?;
                Sink::Csv(Box::new(w))
            }
            Format::Jsonl => Sink::Jsonl(out),
            Format::Parquet => Sink::Parquet(Box::new(ParquetSink::new(out, &columns, metadata)?)),
        };
        Ok(TableWriter { columns, sink })
    }

    /// Writes one row (as many cells as columns, of their kinds).
    pub fn write(&mut self, row: Vec<Cell>) -> anyhow::Result<()> {
        if row.len() != self.columns.len() {
            bail!(
                "a row of {} cells for {} columns",
                row.len(),
                self.columns.len()
            );
        }
        match &mut self.sink {
            Sink::Csv(w) => w.write_record(row.iter().map(Cell::csv))?,
            Sink::Jsonl(w) => {
                let object: serde_json::Map<String, serde_json::Value> = self
                    .columns
                    .iter()
                    .zip(&row)
                    .map(|(c, v)| (c.name.clone(), v.json()))
                    .collect();
                serde_json::to_writer(&mut *w, &object)?;
                w.write_all(b"\n")?;
            }
            Sink::Parquet(p) => p.push(&self.columns, row)?,
        }
        Ok(())
    }

    /// Writes what is buffered (and the Parquet footer) and hands back the output.
    pub fn finish(self) -> anyhow::Result<W> {
        match self.sink {
            Sink::Csv(w) => Ok(w.into_inner().map_err(|e| e.into_error())?),
            Sink::Jsonl(w) => Ok(w),
            Sink::Parquet(p) => p.finish(&self.columns),
        }
    }
}

/// One column's buffered values and levels.
enum Values {
    Int(Vec<i64>),
    Float(Vec<f64>),
    Bool(Vec<bool>),
    Bytes(Vec<ByteArray>),
}

struct Buffer {
    values: Values,
    def: Vec<i16>,
    rep: Vec<i16>,
}

impl Buffer {
    fn new(kind: Kind) -> Buffer {
        let values = match kind {
            Kind::Int | Kind::Time => Values::Int(Vec::new()),
            Kind::Float => Values::Float(Vec::new()),
            Kind::Bool => Values::Bool(Vec::new()),
            Kind::Text | Kind::TextList => Values::Bytes(Vec::new()),
        };
        Buffer {
            values,
            def: Vec::new(),
            rep: Vec::new(),
        }
    }

    fn clear(&mut self) {
        match &mut self.values {
            Values::Int(v) => v.clear(),
            Values::Float(v) => v.clear(),
            Values::Bool(v) => v.clear(),
            Values::Bytes(v) => v.clear(),
        }
        self.def.clear();
        self.rep.clear();
    }
}

struct ParquetSink<W: Write + Send> {
    writer: SerializedFileWriter<W>,
    buffers: Vec<Buffer>,
    rows: usize,
}

/// The Parquet schema of the columns (names checked: letters, digits and `_`).
fn parquet_schema(name: &str, columns: &[Column]) -> anyhow::Result<String> {
    let mut s = format!("message {name} {{\n");
    let mut seen = std::collections::BTreeSet::new();
    for c in columns {
        if !seen.insert(c.name.as_str()) {
            bail!("two columns are named {:?}", c.name);
        }
        if c.name.is_empty()
            || !c
                .name
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
        {
            bail!("column name {:?} cannot be written to Parquet", c.name);
        }
        let rep = if c.nullable { "optional" } else { "required" };
        let field = match c.kind {
            Kind::Int => format!("{rep} int64 {};", c.name),
            Kind::Float => format!("{rep} double {};", c.name),
            Kind::Bool => format!("{rep} boolean {};", c.name),
            Kind::Text => format!("{rep} binary {} (STRING);", c.name),
            Kind::Time => format!("{rep} int64 {} (TIMESTAMP(MICROS,true));", c.name),
            Kind::TextList => format!(
                "{rep} group {} (LIST) {{ repeated group list {{ required binary element (STRING); }} }}",
                c.name
            ),
        };
        s.push_str("  ");
        s.push_str(&field);
        s.push('\n');
    }
    s.push('}');
    Ok(s)
}

impl<W: Write + Send> ParquetSink<W> {
    fn new(
        out: W,
        columns: &[Column],
        metadata: &[(&str, String)],
    ) -> anyhow::Result<ParquetSink<W>> {
        let table = metadata
            .iter()
            .find(|(k, _)| *k == "mindpulse.table")
            .map_or("table", |(_, v)| v.as_str());
        let schema = parquet::schema::parser::parse_message_type(&parquet_schema(table, columns)?)
            .context("the Parquet schema")?;
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_created_by(format!("mindpulse {}", env!("CARGO_PKG_VERSION")))
            .set_key_value_metadata(Some(
                metadata
                    .iter()
                    .map(|(k, v)| KeyValue::new(k.to_string(), v.clone()))
                    .collect(),
            ))
            .build();
        let writer = SerializedFileWriter::new(out, Arc::new(schema), Arc::new(props))?;
        Ok(ParquetSink {
            writer,
            buffers: columns.iter().map(|c| Buffer::new(c.kind)).collect(),
            rows: 0,
        })
    }

    fn push(&mut self, columns: &[Column], row: Vec<Cell>) -> anyhow::Result<()> {
        for ((column, buffer), cell) in columns.iter().zip(&mut self.buffers).zip(row) {
            let present = i16::from(column.nullable);
            match (cell, &mut buffer.values) {
                (Cell::Null, _) if column.kind == Kind::TextList => {
                    // Nullable: no list; required: an empty list.
                    buffer.def.push(0);
                    buffer.rep.push(0);
                }
                (Cell::Null, _) if column.nullable => buffer.def.push(0),
                (Cell::Int(v), Values::Int(vs)) if column.kind == Kind::Int => {
                    vs.push(v);
                    buffer.def.push(present);
                }
                (Cell::Time(t), Values::Int(vs)) if column.kind == Kind::Time => {
                    vs.push(t.timestamp_micros());
                    buffer.def.push(present);
                }
                (Cell::Float(v), Values::Float(vs)) => {
                    vs.push(v);
                    buffer.def.push(present);
                }
                (Cell::Bool(v), Values::Bool(vs)) => {
                    vs.push(v);
                    buffer.def.push(present);
                }
                (Cell::Text(t), Values::Bytes(vs)) if column.kind == Kind::Text => {
                    vs.push(ByteArray::from(t.into_bytes()));
                    buffer.def.push(present);
                }
                (Cell::List(items), Values::Bytes(vs)) if column.kind == Kind::TextList => {
                    // Levels: the list itself (optional: +1) and each element (repeated: +1).
                    if items.is_empty() {
                        buffer.def.push(present);
                        buffer.rep.push(0);
                    }
                    for (i, item) in items.into_iter().enumerate() {
                        vs.push(ByteArray::from(item.into_bytes()));
                        buffer.def.push(present + 1);
                        buffer.rep.push(i16::from(i > 0));
                    }
                }
                (cell, _) => bail!(
                    "column {}: a {cell:?} cell in a {:?} column{}",
                    column.name,
                    column.kind,
                    if column.nullable {
                        ""
                    } else {
                        " that holds no nulls"
                    }
                ),
            }
        }
        self.rows += 1;
        if self.rows >= ROW_GROUP {
            self.flush(columns)?;
        }
        Ok(())
    }

    /// Writes the buffered rows as one row group.
    fn flush(&mut self, columns: &[Column]) -> anyhow::Result<()> {
        if self.rows == 0 {
            return Ok(());
        }
        let mut group = self.writer.next_row_group()?;
        for (column, buffer) in columns.iter().zip(&mut self.buffers) {
            let Some(mut writer) = group.next_column()? else {
                bail!("the Parquet schema has fewer columns than the table");
            };
            let repeated = column.kind == Kind::TextList;
            let has_def = column.nullable || repeated;
            let def = has_def.then_some(buffer.def.as_slice());
            let rep = repeated.then_some(buffer.rep.as_slice());
            match &buffer.values {
                Values::Int(v) => writer.typed::<Int64Type>().write_batch(v, def, rep)?,
                Values::Float(v) => writer.typed::<DoubleType>().write_batch(v, def, rep)?,
                Values::Bool(v) => writer.typed::<BoolType>().write_batch(v, def, rep)?,
                Values::Bytes(v) => writer.typed::<ByteArrayType>().write_batch(v, def, rep)?,
            };
            writer.close()?;
            buffer.clear();
        }
        group.close()?;
        self.rows = 0;
        Ok(())
    }

    fn finish(mut self, columns: &[Column]) -> anyhow::Result<W> {
        self.flush(columns)?;
        Ok(self.writer.into_inner()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::Field;

    fn columns() -> Vec<Column> {
        vec![
            Column::new("id", Kind::Int, false),
            Column::new("text", Kind::Text, false),
            Column::new("at", Kind::Time, true),
            Column::new("tags", Kind::TextList, false),
            Column::new("p", Kind::Float, true),
            Column::new("ok", Kind::Bool, false),
        ]
    }

    fn rows(n: i64) -> Vec<Vec<Cell>> {
        (0..n)
            .map(|i| {
                vec![
                    Cell::Int(i),
                    Cell::Text(if i == 1 {
                        "=1+1".into()
                    } else {
                        format!("帖子 {i}")
                    }),
                    if i % 3 == 0 {
                        Cell::Null
                    } else {
                        Cell::Time(DateTime::from_timestamp(1_700_000_000 + i, 5_000).unwrap())
                    },
                    Cell::List((0..i % 3).map(|k| format!("t{k}")).collect()),
                    Cell::float((i % 2 == 0).then_some(i as f64 / 4.0)),
                    Cell::Bool(i % 2 == 0),
                ]
            })
            .collect()
    }

    #[test]
    fn parquet_round_trips_types_nulls_lists_and_row_groups() {
        let n = ROW_GROUP as i64 + 7;
        let mut w = TableWriter::new(
            Vec::new(),
            Format::Parquet,
            columns(),
            &[("mindpulse.table", "t".to_string())],
        )
        .unwrap();
        for r in rows(n) {
            w.write(r).unwrap();
        }
        let file = tempfile::tempfile().unwrap();
        let mut out = std::io::BufWriter::new(file);
        out.write_all(&w.finish().unwrap()).unwrap();
        let file = out.into_inner().unwrap();
        let reader = SerializedFileReader::new(file).unwrap();
        let meta = reader.metadata();
        assert_eq!(meta.num_row_groups(), 2);
        assert_eq!(meta.file_metadata().num_rows(), n);
        let kv = meta.file_metadata().key_value_metadata().unwrap();
        assert!(kv
            .iter()
            .any(|k| k.key == "mindpulse.table" && k.value.as_deref() == Some("t")));
        let read: Vec<_> = reader
            .get_row_iter(None)
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(read.len() as i64, n);
        for (i, row) in read.iter().enumerate().take(8) {
            let fields: Vec<&Field> = row.get_column_iter().map(|(_, f)| f).collect();
            assert_eq!(fields[0], &Field::Long(i as i64));
            let at = match fields[2] {
                Field::TimestampMicros(us) => Some(*us),
                Field::Null => None,
                other => panic!("{other:?}"),
            };
            assert_eq!(at.is_none(), i % 3 == 0);
            if let Some(us) = at {
                assert_eq!(us, (1_700_000_000 + i as i64) * 1_000_000 + 5);
            }
            match fields[3] {
                Field::ListInternal(l) => assert_eq!(l.len(), i % 3),
                other => panic!("{other:?}"),
            }
            assert_eq!(
                fields[4],
                &if i % 2 == 0 {
                    Field::Double(i as f64 / 4.0)
                } else {
                    Field::Null
                }
            );
            assert_eq!(fields[5], &Field::Bool(i % 2 == 0));
        }
    }

    #[test]
    fn csv_and_jsonl_write_the_same_rows() {
        let mut w = TableWriter::new(Vec::new(), Format::Csv, columns(), &[]).unwrap();
        for r in rows(3) {
            w.write(r).unwrap();
        }
        let csv = String::from_utf8(w.finish().unwrap()).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "id,text,at,tags,p,ok");
        assert_eq!(lines[1], "0,帖子 0,,,0,true");
        assert_eq!(
            lines[2],
            "1,'=1+1,2023-11-14T22:13:21.000005+00:00,t0,,false"
        );
        let mut w = TableWriter::new(Vec::new(), Format::Jsonl, columns(), &[]).unwrap();
        for r in rows(3) {
            w.write(r).unwrap();
        }
        let out = String::from_utf8(w.finish().unwrap()).unwrap();
        let third: serde_json::Value = serde_json::from_str(out.lines().nth(2).unwrap()).unwrap();
        assert_eq!(
            third,
            serde_json::json!({"id": 2, "text": "帖子 2", "at": "2023-11-14T22:13:22.000005+00:00",
                "tags": ["t0", "t1"], "p": 0.5, "ok": true})
        );
    }

    #[test]
    fn a_wrong_cell_or_name_is_an_error_not_a_panic() {
        let mut w = TableWriter::new(Vec::new(), Format::Parquet, columns(), &[]).unwrap();
        let mut row = rows(1).remove(0);
        row[0] = Cell::Null;
        assert!(w.write(row).unwrap_err().to_string().contains("column id"));
        let bad = vec![Column::new("a b", Kind::Int, false)];
        assert!(TableWriter::new(Vec::new(), Format::Parquet, bad, &[]).is_err());
        let twice = Column::list(&[("a", Kind::Int, false), ("a", Kind::Text, true)]);
        let e = TableWriter::new(Vec::new(), Format::Parquet, twice, &[]).err();
        assert!(e.is_some_and(|e| e.to_string().contains("two columns are named \"a\"")));
    }

    #[test]
    fn formulas_are_neutralized_numbers_are_not() {
        for (cell, want) in [
            ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"),
            ("+1+2", "'+1+2"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("-0.25", "-0.25"),
            ("+3", "+3"),
            ("普通的帖子 = 文本", "普通的帖子 = 文本"),
            ("", ""),
        ] {
            assert_eq!(safe_cell(cell), want, "{cell:?}");
        }
    }
}
