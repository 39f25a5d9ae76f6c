//! The command line's exit statuses, run as a user would: 2 for bad arguments (clap's usage
//! errors), 1 for bad files or specs, 0 for work done, and never a panic (101) or a signal,
//! each with a message that names what was wrong.

use std::path::PathBuf;
use std::process::Command;

fn tunesmith(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tunesmith")).args(args).output().expect("the binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let code = out.status.code().unwrap_or_else(|| panic!("{args:?} ended by a signal: {stderr}"));
    (code, stderr)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tunesmith-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn bad_arguments_exit_2_with_a_reason() {
    let out = scratch("x.mid");
    let out = out.to_str().unwrap();
    for (args, says) in [
        (vec![], "Usage"),
        (vec!["generate", "--out", out, "--tempo", "-120"], "tempo must be 20–400 bpm"),
        (vec!["generate", "--out", out, "--meter", "abc"], "is not a meter"),
        (vec!["generate", "--out", out, "--meter", "300/4"], "300/4"),
        (vec!["generate", "--out", out, "--bars", "many"], "--bars"),
        (vec!["generate", "--out", out, "--bars", "65"], "1–64 bars"),
        (vec!["generate", "--out", out, "--model", "gpt"], "--model"),
        (vec!["generate"], "--out"),
        (vec!["compose"], "compose"),
    ] {
        let (code, stderr) = tunesmith(&args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?} should say {says:?}: {stderr}");
    }
}

#[test]
fn bad_files_and_values_exit_1_naming_them() {
    let out = scratch("y.mid");
    let out = out.to_str().unwrap();
    let garbage = scratch("garbage.mid");
    std::fs::write(&garbage, b"not a midi file at all").unwrap();
    let cut = scratch("cut.mid");
    std::fs::write(&cut, b"MThd\0\0\0\x06\0\0\0\x01\0\x60MTrk\0\0\0\x40\0\x90\x3c").unwrap();
    let garbage = garbage.to_str().unwrap();
    let cut = cut.to_str().unwrap();
    for (args, says) in [
        (vec!["generate", "--out", out, "--weights", "/nonexistent/model.bpk"], "/nonexistent/model.json"),
        (vec!["generate", "--out", out, "--primer", garbage], garbage),
        (vec!["generate", "--out", out, "--primer", cut], cut),
        (vec!["generate", "--out", out, "--primer", "/nonexistent.mid"], "/nonexistent.mid"),
        (vec!["generate", "--out", out, "--model", "transformer", "--theory", "0.5"], "no theory-tuned weights"),
        (vec!["generate", "--out", "/nonexistent/dir/z.mid", "--bars", "1"], "/nonexistent/dir/z.mid"),
    ] {
        let (code, stderr) = tunesmith(&args);
        assert_eq!(code, 1, "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?} should say {says:?}: {stderr}");
    }
}

#[test]
fn work_done_exits_0_and_writes_the_file() {
    let out = scratch("ok.mid");
    let (code, stderr) = tunesmith(&["generate", "--out", out.to_str().unwrap(), "--bars", "2", "--seed", "3"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(&std::fs::read(&out).unwrap()[..4], b"MThd");
}
