//! The UI's files and how they are cached.
//!
//! Every file is served under `/assets/<version>/<path>`, where `<version>` is a hash of all of
//! them: a URL's content never changes, so browsers may keep it for a year without asking again,
//! and any edit yields new URLs. The page (`index.html`, served for every app route) names the
//! current version and is revalidated on each load (`no-cache` + ETag), so a deploy reaches users
//! on their next reload. One version for the whole set, rather than a hash per file, lets the
//! JavaScript modules import each other by relative path without rewriting their imports.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::http::HeaderValue;

/// Release builds compile the files into the binary; debug builds read them from disk on each
/// access (rust-embed's behaviour without `debug-embed`), which [`AssetSource::Live`] relies on.
#[derive(rust_embed::RustEmbed)]
#[folder = "assets/"]
struct Files;

/// The placeholder `index.html` uses for the versioned asset prefix.
const PREFIX_PLACEHOLDER: &str = "{{assets}}";
const PAGE: &str = "index.html";

pub struct Asset {
    pub body: Bytes,
    pub content_type: &'static str,
    /// Weak, because the compression layer may re-encode the bytes (RFC 9110 §8.8.1).
    pub etag: HeaderValue,
}

pub struct Assets {
    /// The path segment after `/assets/`: a hash over every file's path and content.
    pub version: String,
    page: Asset,
    files: HashMap<String, Asset>,
}

impl Assets {
    /// Reads every embedded file; fails when the page is missing, which `/readyz` reports.
    pub fn load() -> Result<Assets, String> {
        let mut names: Vec<Cow<'static, str>> = Files::iter().collect();
        names.sort();
        let mut hasher = Fnv64::new();
        let mut files = HashMap::new();
        for name in names {
            let file = Files::get(&name).ok_or_else(|| format!("asset `{name}` vanished while loading"))?;
            let digest = file.metadata.sha256_hash();
            hasher.write(name.as_bytes());
            hasher.write(&digest);
            let asset = Asset {
                body: Bytes::from(file.data.into_owned()),
                content_type: content_type(&name),
                etag: etag(&hex(&digest[..8])),
            };
            files.insert(name.into_owned(), asset);
        }
        let version = format!("{:016x}", hasher.finish())[..12].to_owned();

        let template = files.remove(PAGE).ok_or_else(|| format!("the UI has no {PAGE}"))?;
        let template = std::str::from_utf8(&template.body).map_err(|_| format!("{PAGE} is not UTF-8"))?;
        let html = template.replace(PREFIX_PLACEHOLDER, &format!("/assets/{version}"));
        let page = Asset {
            etag: etag(&format!("{version}-{:016x}", Fnv64::hash(html.as_bytes()))),
            body: Bytes::from(html),
            content_type: "text/html; charset=utf-8",
        };
        Ok(Assets { version, page, files })
    }

    pub fn page(&self) -> &Asset {
        &self.page
    }

    /// The file at `path` (relative to the assets folder) if `version` is the current one.
    pub fn get(&self, version: &str, path: &str) -> Option<&Asset> {
        (version == self.version).then(|| self.files.get(path)).flatten()
    }
}

/// Where requests get the assets from.
#[derive(Clone)]
pub enum AssetSource {
    /// Loaded once at start (release builds: the files are in the binary and cannot change).
    Fixed(Arc<Assets>),
    /// Reloaded on every request, so edits show on the next page load without a rebuild; only
    /// worth it when the files are read from disk (debug builds).
    Live,
}

impl AssetSource {
    pub fn for_this_build() -> Result<AssetSource, String> {
        if cfg!(debug_assertions) {
            Assets::load()?;
            Ok(AssetSource::Live)
        } else {
            Ok(AssetSource::Fixed(Arc::new(Assets::load()?)))
        }
    }

    pub fn current(&self) -> Result<Arc<Assets>, String> {
        match self {
            AssetSource::Fixed(assets) => Ok(Arc::clone(assets)),
            AssetSource::Live => Assets::load().map(Arc::new),
        }
    }
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("webmanifest") => "application/manifest+json",
        Some("json") => "application/json",
        Some("txt") => "text/plain; charset=utf-8",
        Some("woff2") => "font/woff2",
        _ => "application/octet-stream",
    }
}

fn etag(tag: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("W/\"{tag}\"")).expect("hex digits and dashes are a valid header value")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// FNV-1a: a stable hash with no dependency, for combining the files' SHA-256 digests.
struct Fnv64(u64);

impl Fnv64 {
    fn new() -> Fnv64 {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in (bytes.len() as u64).to_le_bytes().iter().chain(bytes) {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }

    fn hash(bytes: &[u8]) -> u64 {
        let mut hasher = Fnv64::new();
        hasher.write(bytes);
        hasher.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_points_at_the_current_version_and_every_file_it_names_exists() {
        let assets = Assets::load().unwrap();
        let page = std::str::from_utf8(&assets.page().body).unwrap();
        assert!(!page.contains(PREFIX_PLACEHOLDER));
        let prefix = format!("/assets/{}/", assets.version);
        let mut named = 0;
        for (i, _) in page.match_indices(&prefix) {
            let rest = &page[i + prefix.len()..];
            let path = &rest[..rest.find('"').unwrap()];
            assert!(assets.get(&assets.version, path).is_some(), "index.html names missing {path}");
            named += 1;
        }
        assert!(named >= 3, "the page loads its stylesheet, script and icon: {page}");
    }

    #[test]
    fn a_classic_script_that_reports_a_failed_boot_loads_before_the_modules() {
        // During a rolling update the modules may 404 (an old pod lacks this version): boot.js
        // must already be listening then, and cannot be a module itself.
        let assets = Assets::load().unwrap();
        let page = std::str::from_utf8(&assets.page().body).unwrap();
        let prefix = format!("/assets/{}", assets.version);
        let boot = format!("<script src=\"{prefix}/boot.js\"></script>");
        let app = format!("<script type=\"module\" src=\"{prefix}/app.js\"></script>");
        let (Some(boot_at), Some(app_at)) = (page.find(&boot), page.find(&app)) else {
            panic!("the page loads {boot} and {app}: {page}");
        };
        assert!(boot_at < app_at, "boot.js comes before the modules");
        let script = std::str::from_utf8(&assets.get(&assets.version, "boot.js").unwrap().body).unwrap();
        assert!(
            !script.contains("import ") && !script.contains("innerHTML"),
            "a classic script, no HTML strings"
        );
    }

    #[test]
    fn versions_are_stable_and_other_versions_are_not_served() {
        let (a, b) = (Assets::load().unwrap(), Assets::load().unwrap());
        assert_eq!(a.version, b.version);
        assert_eq!(a.version.len(), 12);
        assert!(a.get(&a.version, "app.js").is_some());
        assert!(a.get("000000000000", "app.js").is_none());
        assert_eq!(a.get(&a.version, "app.js").unwrap().content_type, "text/javascript; charset=utf-8");
    }
}
