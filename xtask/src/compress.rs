//! Pre-compressed assets: every text file and the WebAssembly of `dist/` also written as `.br`
//! (brotli at its highest quality) and `.gz` (gzip at its best), once at build time, so that
//! kasse-server sends each browser the smallest encoding it takes without compressing anything
//! per request. The brotli size is also what `bench` reports as the bundle's weight on the wire.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::error::{Context, Result};

/// The file extensions worth compressing: text and WebAssembly (images and fonts here are not).
const COMPRESSED_EXTENSIONS: [&str; 5] = ["html", "js", "css", "wasm", "svg"];

/// Brotli's highest quality, the setting for assets compressed once at build time.
pub(crate) const BROTLI_QUALITY: i32 = 11;

/// Brotli's default window (log2 of 4 MiB), larger than any file here.
const BROTLI_WINDOW: i32 = 22;

/// `bytes` compressed with brotli at [`BROTLI_QUALITY`].
pub(crate) fn brotli(bytes: &[u8]) -> Result<Vec<u8>> {
    let params = brotli::enc::BrotliEncoderParams {
        quality: BROTLI_QUALITY,
        lgwin: BROTLI_WINDOW,
        size_hint: bytes.len(),
        ..Default::default()
    };
    let mut compressed = Vec::new();
    brotli::BrotliCompress(&mut &bytes[..], &mut compressed, &params).context(|| "brotli".to_owned())?;
    Ok(compressed)
}

/// `bytes` compressed with gzip at its best.
pub(crate) fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).context(|| "gzip".to_owned())?;
    encoder.finish().context(|| "gzip".to_owned())
}

/// Writes `NAME.br` and `NAME.gz` beside every compressible file under `dist`, at any depth;
/// returns how many files it compressed. An encoding that would not be smaller is left out, so
/// the server sends the file as it is.
pub(crate) fn precompress(dist: &Path) -> Result<usize> {
    let mut count = 0;
    for path in files_under(dist)? {
        if !is_compressible(&path) {
            continue;
        }
        let bytes = fs::read(&path).context(|| format!("reading {}", path.display()))?;
        for (suffix, compressed) in [("br", brotli(&bytes)?), ("gz", gzip(&bytes)?)] {
            let target = with_suffix(&path, suffix);
            if compressed.len() < bytes.len() {
                fs::write(&target, compressed).context(|| format!("writing {}", target.display()))?;
            } else if target.exists() {
                fs::remove_file(&target).context(|| format!("removing {}", target.display()))?;
            }
        }
        count += 1;
    }
    Ok(count)
}

/// Whether the file is one a browser downloads and compression shrinks.
pub(crate) fn is_compressible(path: &Path) -> bool {
    path.extension()
        .and_then(|extension| extension.to_str())
        .is_some_and(|extension| COMPRESSED_EXTENSIONS.contains(&extension))
}

/// `app.js` → `app.js.br`.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

/// Every regular file below `root`, at any depth (Trunk puts JS snippets in subfolders, and the
/// landing page's bundle in `landing/`).
pub(crate) fn files_under(root: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let entries = fs::read_dir(&folder).context(|| format!("listing {}", folder.display()))?;
        for entry in entries {
            let entry = entry.context(|| format!("listing {}", folder.display()))?;
            let kind = entry.file_type().context(|| format!("inspecting {}", entry.path().display()))?;
            if kind.is_dir() {
                folders.push(entry.path());
            } else if kind.is_file() {
                files.push(entry.path());
            }
        }
    }
    Ok(files)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failing test should panic with the error")]
mod tests {
    use std::io::Read as _;

    use super::*;

    #[test]
    fn both_encodings_decompress_to_the_original_and_are_smaller_for_text() {
        let input = "<div class=\"row\">kasse</div>\n".repeat(200);
        let br = brotli(input.as_bytes()).unwrap();
        assert!(br.len() < 100, "compressed to {} bytes", br.len());
        let mut output = String::new();
        brotli::Decompressor::new(&br[..], 4096).read_to_string(&mut output).unwrap();
        assert_eq!(output, input);

        let gz = gzip(input.as_bytes()).unwrap();
        let mut output = String::new();
        flate2::read::GzDecoder::new(&gz[..]).read_to_string(&mut output).unwrap();
        assert_eq!(output, input);
    }

    #[test]
    fn every_compressible_file_at_any_depth_gets_its_br_and_gz_and_nothing_else_does() {
        let dist = std::env::temp_dir().join(format!("xtask-compress-{}", std::process::id()));
        fs::create_dir_all(dist.join("landing")).unwrap();
        let page = "<!doctype html><p>kasse</p>".repeat(50);
        fs::write(dist.join("index.html"), &page).unwrap();
        fs::write(dist.join("landing").join("landing-1a2b_bg.wasm"), vec![0_u8; 4096]).unwrap();
        fs::write(dist.join("landing").join("tiny.css"), "a{}").unwrap();
        fs::write(dist.join("icon.png"), [0_u8; 64]).unwrap();

        let count = precompress(&dist).unwrap();
        let mut names: Vec<_> = files_under(&dist)
            .unwrap()
            .into_iter()
            .map(|p| p.strip_prefix(&dist).unwrap().to_string_lossy().replace('\\', "/"))
            .collect();
        names.sort();
        let brotli_page = fs::read(dist.join("index.html.br")).unwrap();
        fs::remove_dir_all(&dist).unwrap();
        assert_eq!(count, 3, "html, wasm and css; never the png");
        assert_eq!(
            names,
            [
                "icon.png",
                "index.html",
                "index.html.br",
                "index.html.gz",
                "landing/landing-1a2b_bg.wasm",
                "landing/landing-1a2b_bg.wasm.br",
                "landing/landing-1a2b_bg.wasm.gz",
                "landing/tiny.css",
            ],
            "a file compression cannot shrink is sent as it is"
        );
        assert!(brotli_page.len() < page.len() / 10);
    }
}
