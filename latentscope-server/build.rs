//! Rebuilds the server when the explorer's built assets change (they are
//! embedded with `include_dir!`, which cargo does not track by itself).
fn main() {
    println!("cargo:rerun-if-changed=web/dist");
    println!("cargo:rerun-if-env-changed=LATENTSCOPE_WEB_DIR");
}
