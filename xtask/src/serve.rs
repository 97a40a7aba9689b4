//! A small static file server for the built site (loopback only).

use crate::{dist, project_root};
use anyhow::{anyhow, Context, Result};
use std::path::{Component, Path, PathBuf};

pub fn run(port: u16, no_build: bool) -> Result<()> {
    let site = project_root().join("dist");
    if !no_build || !site.join("index.html").exists() {
        dist::build(&site, dist::Threaded::IfAvailable)?;
    }
    // Cross-origin isolated, as a host that sends the two headers would serve it: the page then
    // loads the threaded build.
    let server = start_with(&site, port, true)?;
    println!("Flowscope is running at http://127.0.0.1:{}/  (Ctrl+C to stop)", server.port);
    server.handle.join().map_err(|_| anyhow!("the server thread panicked"))
}

pub struct Server {
    pub port: u16,
    handle: std::thread::JoinHandle<()>,
}

/// Serves `site` on 127.0.0.1:`port` (0 picks a free port) from a background thread.
pub fn start(site: &Path, port: u16) -> Result<Server> {
    start_with(site, port, false)
}

/// The same, cross-origin isolated (COOP and COEP headers), so that pages may use
/// SharedArrayBuffer: the threaded build and onnxruntime-web's threads need it.
pub fn start_isolated(site: &Path) -> Result<Server> {
    start_with(site, 0, true)
}

fn start_with(site: &Path, port: u16, isolated: bool) -> Result<Server> {
    let server = tiny_http::Server::http(("127.0.0.1", port))
        .map_err(|e| anyhow!("cannot listen on 127.0.0.1:{port}: {e} (try --port)"))?;
    let port = server.server_addr().to_ip().map(|a| a.port()).context("no local address")?;
    let site = site.to_path_buf();
    let headers = site_headers(&site)?;
    let handle = std::thread::spawn(move || {
        for request in server.incoming_requests() {
            let mut response = respond(&site, request.url());
            // The benchmark's onnxruntime-web page (bench-nn/) is not part of the site.
            if !request.url().starts_with("/bench-nn/") {
                for (name, value) in &headers {
                    response.add_header(
                        tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes())
                            .expect("checked when read"),
                    );
                }
            }
            if isolated {
                for (name, value) in [
                    ("Cross-Origin-Opener-Policy", "same-origin"),
                    ("Cross-Origin-Embedder-Policy", "require-corp"),
                ] {
                    response.add_header(
                        tiny_http::Header::from_bytes(name, value).expect("valid header"),
                    );
                }
            }
            let _ = request.respond(response);
        }
    });
    Ok(Server { port, handle })
}

/// The headers the site's `_headers` file (Netlify and Cloudflare Pages format) gives every
/// path (its `/*` rule), as a static host would send them — all but the cross-origin isolation
/// pair, which only an isolated server adds. None without the file.
fn site_headers(site: &Path) -> Result<Vec<(String, String)>> {
    let Ok(text) = std::fs::read_to_string(site.join("_headers")) else { return Ok(Vec::new()) };
    parse_headers(&text)
}

fn parse_headers(text: &str) -> Result<Vec<(String, String)>> {
    let mut headers = Vec::new();
    let mut every_path = false;
    for line in text.lines() {
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if !line.starts_with(char::is_whitespace) {
            every_path = line.trim() == "/*";
            continue;
        }
        let (name, value) =
            line.trim().split_once(':').with_context(|| format!("_headers: '{line}'"))?;
        let (name, value) = (name.trim(), value.trim());
        tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes())
            .map_err(|()| anyhow!("_headers: not a header: '{line}'"))?;
        if every_path && !name.starts_with("Cross-Origin-") {
            headers.push((name.to_string(), value.to_string()));
        }
    }
    Ok(headers)
}

fn respond(site: &Path, url: &str) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
    let path = url.split(['?', '#']).next().unwrap_or("/");
    let Some(file) = resolve(site, path) else {
        return tiny_http::Response::from_string("not found").with_status_code(404);
    };
    match std::fs::read(&file) {
        Ok(bytes) => {
            let header =
                tiny_http::Header::from_bytes("Content-Type", mime(&file)).expect("valid header");
            let no_cache =
                tiny_http::Header::from_bytes("Cache-Control", "no-cache").expect("valid header");
            tiny_http::Response::from_data(bytes).with_header(header).with_header(no_cache)
        }
        Err(_) => tiny_http::Response::from_string("not found").with_status_code(404),
    }
}

/// Maps a URL path to a file under `site`, refusing anything that climbs out of it.
fn resolve(site: &Path, path: &str) -> Option<PathBuf> {
    let relative = Path::new(path.trim_start_matches('/'));
    if relative.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    let mut file = site.join(relative);
    if file.is_dir() {
        file = file.join("index.html");
    }
    file.is_file().then_some(file)
}

fn mime(file: &Path) -> &'static str {
    match file.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("json") => "application/json",
        Some("png") => "image/png",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_the_site_headers_of_every_path_but_the_isolation_pair() {
        let text = std::fs::read_to_string(project_root().join("public/_headers")).unwrap();
        let headers = parse_headers(&text).unwrap();
        let names: Vec<&str> = headers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy"]);
        assert!(!headers[0].1.contains("unsafe-inline"), "{}", headers[0].1);
        assert!(parse_headers("/*\n  no colon here\n").is_err());
    }

    #[test]
    fn refuses_paths_outside_the_site() {
        let site = project_root().join("web");
        assert!(resolve(&site, "/../Cargo.toml").is_none());
        assert!(resolve(&site, "/index.html").is_some());
        assert!(resolve(&site, "/").is_some());
    }
}
