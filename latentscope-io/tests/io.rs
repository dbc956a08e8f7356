//! Integration tests of latentscope-io: the store contract on every backend,
//! the table readers and their errors, and the matrix formats.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use latentscope_io::arrow_array::Array;
use latentscope_io::arrow_array::cast::AsArray;
use latentscope_io::arrow_array::types::{Float64Type, Int64Type};
use latentscope_io::arrow_schema::DataType;
use latentscope_io::read::open_table;
use latentscope_io::{Error, LocalStore, Matrix, MemoryStore, Store, matrix, npy};

/// The behaviour every Store must have.
fn store_contract(store: &dyn Store) {
    // put / get / exists
    store.put("ds/a.json", b"one").unwrap();
    assert_eq!(&store.get("ds/a.json").unwrap()[..], b"one");
    store.put("ds/a.json", b"two").unwrap();
    assert_eq!(&store.get("ds/a.json").unwrap()[..], b"two");
    assert!(store.exists("ds/a.json").unwrap());
    assert!(!store.exists("ds/missing").unwrap());
    assert!(store.get("ds/missing").unwrap_err().is_not_found());

    // put_if_absent claims once
    store.put_if_absent("ds/.claim-1", b"x").unwrap();
    assert!(matches!(
        store.put_if_absent("ds/.claim-1", b"y"),
        Err(Error::AlreadyExists { .. })
    ));
    assert_eq!(&store.get("ds/.claim-1").unwrap()[..], b"x");

    // streaming writer: invisible until commit, discarded on drop
    let mut w = store.writer("ds/sub/big.bin").unwrap();
    w.write_all(b"partial").unwrap();
    assert!(!store.exists("ds/sub/big.bin").unwrap());
    drop(w);
    assert!(!store.exists("ds/sub/big.bin").unwrap());
    let mut w = store.writer("ds/sub/big.bin").unwrap();
    w.write_all(b"whole").unwrap();
    w.commit().unwrap();
    assert_eq!(&store.get("ds/sub/big.bin").unwrap()[..], b"whole");

    // list: sorted children, directories marked, no writes in progress
    let names: Vec<(String, bool)> = store
        .list("ds")
        .unwrap()
        .into_iter()
        .map(|e| (e.name, e.is_dir))
        .collect();
    assert_eq!(
        names,
        vec![
            (".claim-1".into(), false),
            ("a.json".into(), false),
            ("sub".into(), true)
        ]
    );
    assert_eq!(store.list("").unwrap().len(), 1);
    assert!(store.list("nothing-here").unwrap().is_empty());

    // delete, including a missing key
    store.delete("ds/a.json").unwrap();
    store.delete("ds/a.json").unwrap();
    assert!(!store.exists("ds/a.json").unwrap());

    // random access read
    let blob = store.open("ds/sub/big.bin").unwrap();
    use parquet::file::reader::ChunkReader;
    assert_eq!(&blob.get_bytes(1, 3).unwrap()[..], b"hol");

    // the writer lock is exclusive and released on drop
    let lock = store.lock("ds/.lock").unwrap();
    assert!(matches!(store.lock("ds/.lock"), Err(Error::Locked { .. })));
    drop(lock);
    store.lock("ds/.lock").unwrap();

    // keys that would escape the store are refused
    for bad in ["", "/abs", "a/../b", "..", "a//b", "a/./b", "a\\b"] {
        assert!(
            matches!(store.put(bad, b""), Err(Error::InvalidKey { .. })),
            "{bad:?}"
        );
    }
}

#[test]
fn memory_store_contract() {
    store_contract(&MemoryStore::new());
}

#[test]
fn local_store_contract() {
    let dir = tempfile::tempdir().unwrap();
    store_contract(&LocalStore::new(dir.path()));
}

#[test]
fn local_writer_leaves_no_file_when_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let mut w = store.writer("x/input.parquet").unwrap();
    w.write_all(&[0u8; 4096]).unwrap();
    drop(w);
    let left: Vec<_> = std::fs::read_dir(dir.path().join("x")).unwrap().collect();
    assert!(left.is_empty(), "temporary file left behind: {left:?}");
}

#[test]
fn abandoned_writes_of_one_key_are_discarded_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    // A writer that never ran its destructor, as when its process is killed.
    let mut w = store.writer("x/e.parquet").unwrap();
    w.write_all(&[1u8; 64]).unwrap();
    std::mem::forget(w);
    let mut other = store.writer("x/e.parquet.json").unwrap();
    other.write_all(b"{}").unwrap();
    std::mem::forget(other);
    store.put("x/e.parquet", b"committed").unwrap();
    store
        .put("x/.e.parquet.notes.tmp", b"not a temporary name")
        .unwrap();
    let names = || -> Vec<String> {
        let mut n: Vec<String> = std::fs::read_dir(dir.path().join("x"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        n.sort();
        n
    };
    assert_eq!(names().len(), 4, "{:?}", names());
    store.discard_abandoned_writes("x/e.parquet").unwrap();
    let left = names();
    assert_eq!(left.len(), 3, "{left:?}");
    assert!(left.contains(&"e.parquet".to_string()));
    assert!(left.contains(&".e.parquet.notes.tmp".to_string()));
    assert!(left.iter().any(|n| n.starts_with(".e.parquet.json.")));
    store.discard_abandoned_writes("y/missing.parquet").unwrap();
}

/// A lock held by another process blocks us, and is freed when that process
/// is killed: a crashed writer never leaves the lock stuck.
#[test]
fn lock_is_freed_when_the_holder_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let path = dir.path().join("ds/.lock");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let script = format!(
        "import fcntl,sys,time\nf=open({:?},'a+')\nfcntl.flock(f,fcntl.LOCK_EX)\nprint('locked',flush=True)\ntime.sleep(60)",
        path.display().to_string()
    );
    let mut child = std::process::Command::new("python3")
        .args(["-c", &script])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 is needed for this test");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "locked");
    let err = store.lock("ds/.lock").unwrap_err();
    assert!(matches!(err, Error::Locked { .. }), "{err}");
    child.kill().unwrap(); // SIGKILL: no cleanup runs in the holder
    child.wait().unwrap();
    store
        .lock("ds/.lock")
        .expect("the kernel released the dead holder's lock");
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn read_all(path: &Path) -> Result<Vec<latentscope_io::arrow_array::RecordBatch>, Error> {
    open_table(path)?.collect()
}

#[test]
fn csv_infers_types_from_every_row() {
    let dir = tempfile::tempdir().unwrap();
    // `count` looks like an integer until its last row; `name` holds "nan" and "null" as text.
    let p = write(
        dir.path(),
        "t.csv",
        b"name,count,ok,text\nnan,1,true,hello\nnull,2,false,\"a, b\"\n,2.5,,\n",
    );
    let table = open_table(&p).unwrap();
    let schema = table.schema();
    let types: Vec<DataType> = schema
        .fields()
        .iter()
        .map(|f| f.data_type().clone())
        .collect();
    assert_eq!(
        types,
        vec![
            DataType::Utf8,
            DataType::Float64,
            DataType::Boolean,
            DataType::Utf8
        ]
    );
    assert_eq!(table.rows(), Some(3));
    let batches: Vec<_> = table.collect::<Result<_, _>>().unwrap();
    let b = &batches[0];
    let names = b.column(0).as_string::<i32>();
    assert_eq!(names.value(0), "nan");
    assert_eq!(names.value(1), "null");
    assert!(names.is_null(2));
    assert_eq!(b.column(1).as_primitive::<Float64Type>().value(2), 2.5);
    assert_eq!(b.column(3).as_string::<i32>().value(1), "a, b");
}

#[test]
fn tsv_and_jsonl_and_parquet_read() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "t.tsv", b"id\ttext\n1\tone\n2\ttwo\n");
    let b = read_all(&p).unwrap();
    assert_eq!(b[0].column(0).as_primitive::<Int64Type>().values(), &[1, 2]);

    let p = write(
        dir.path(),
        "t.jsonl",
        b"{\"id\": 1, \"text\": \"one\", \"tags\": [1,2]}\n\n{\"text\": \"two\", \"id\": 2.5, \"extra\": true}\n",
    );
    let table = open_table(&p).unwrap();
    let names: Vec<String> = table
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(names, ["id", "text", "tags", "extra"]);
    let b: Vec<_> = table.collect::<Result<_, _>>().unwrap();
    assert_eq!(
        b[0].column(0).as_primitive::<Float64Type>().values(),
        &[1.0, 2.5]
    );
    assert_eq!(b[0].column(2).as_string::<i32>().value(0), "[1,2]");
    assert!(b[0].column(3).is_null(0));

    // A Parquet file written by pandas (the Python tool's input.parquet).
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/python-latentscope-1.0/pypi-10k/input.parquet");
    let table = open_table(&fixture).unwrap();
    assert!(!table.schema().metadata().contains_key("pandas"));
    let rows: usize = table.map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(rows, 10_000);
}

#[test]
fn bad_inputs_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.csv");
    assert!(matches!(open_table(&missing), Err(Error::NotFound { .. })));

    let p = write(dir.path(), "t.xlsx", b"PK");
    assert!(matches!(
        open_table(&p),
        Err(Error::UnsupportedFormat { .. })
    ));

    let p = write(dir.path(), "empty.csv", b"");
    assert!(matches!(open_table(&p), Err(Error::EmptyFile { .. })));

    let p = write(dir.path(), "header.csv", b"a,b\n");
    assert!(matches!(open_table(&p), Err(Error::NoRows { .. })));

    let p = write(dir.path(), "utf8.csv", b"a,b\n1,ok\n2,bad \xff byte\n");
    match open_table(&p) {
        Err(Error::InvalidUtf8 { line, column, .. }) => {
            assert_eq!(line, 3);
            assert_eq!(column, "b");
        }
        other => panic!("expected InvalidUtf8, got {other:?}"),
    }

    let p = write(dir.path(), "ragged.csv", b"a,b\n1,2\n3,4\n5,6,7\n");
    let err = open_table(&p).unwrap_err();
    assert!(
        matches!(
            err,
            Error::RaggedRow {
                line: 4,
                expected: 2,
                found: 3,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("line 4"), "{err}");

    let p = write(dir.path(), "bad.jsonl", b"{\"a\": 1}\n{\"a\": \n");
    assert!(matches!(
        open_table(&p),
        Err(Error::Malformed { line: 2, .. })
    ));

    let p = write(
        dir.path(),
        "notparquet.parquet",
        b"this is not parquet at all",
    );
    assert!(matches!(open_table(&p), Err(Error::Format { .. })));

    let p = write(dir.path(), "empty.jsonl", b"\n\n");
    assert!(matches!(open_table(&p), Err(Error::EmptyFile { .. })));
}

#[test]
fn matrix_round_trips_through_parquet_and_npy() {
    let store = Arc::new(MemoryStore::new());
    let m = Matrix {
        data: (0..30).map(|v| v as f32 * 0.5).collect(),
        rows: 10,
        cols: 3,
    };
    matrix::write_matrix(store.as_ref(), "e.parquet", "embedding", &m).unwrap();
    assert_eq!(
        matrix::read_matrix(store.as_ref(), "e.parquet", "embedding").unwrap(),
        m
    );

    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.npy");
    npy::write_npy_f32(&p, &m.data, 10, Some(3)).unwrap();
    let back = npy::read_npy(&p).unwrap();
    assert_eq!(back.shape, vec![10, 3]);
    assert_eq!(back.to_f32(), m.data);

    let labels = dir.path().join("l.npy");
    npy::write_npy_i64(&labels, &[-1, 0, 5]).unwrap();
    assert_eq!(npy::read_npy(&labels).unwrap().to_i64(), vec![-1, 0, 5]);
}

/// A version 1 `.npy` file of float32 values with the given header fields.
fn npy_f32(fortran: bool, shape: &str, values: &[f32]) -> Vec<u8> {
    let order = if fortran { "True" } else { "False" };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': {order}, 'shape': {shape}, }}");
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    for v in values {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    bytes
}

#[test]
fn fortran_order_npy_is_read_in_row_order() {
    let dir = tempfile::tempdir().unwrap();
    // A 3 × 2 array stored column by column, as NumPy writes a transposed
    // or Fortran-ordered array (umap-learn layouts often are).
    let bytes = npy_f32(true, "(3, 2)", &[1.0, 3.0, 5.0, 2.0, 4.0, 6.0]);
    let path = write(dir.path(), "f.npy", &bytes);
    let a = npy::read_npy(&path).unwrap();
    assert_eq!(a.shape, vec![3, 2]);
    assert_eq!(a.to_f64(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    assert_eq!(a.into_f32(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);

    // A header that promises more than the file holds is an error, found
    // before anything is allocated for it.
    for shape in ["(99999999999, 9999)", "(4, 2)"] {
        let path = write(dir.path(), "short.npy", &npy_f32(false, shape, &[1.0; 6]));
        let err = npy::read_npy(&path).unwrap_err().to_string();
        assert!(err.contains("shorter than its shape"), "{err}");
    }
}
