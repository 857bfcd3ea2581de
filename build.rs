fn main() {
    glib_build_tools::compile_resources(&["src", "."], "src/keel.gresource.xml", "keel.gresource");
}
