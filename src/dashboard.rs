//! `/dashboard`: the auditor's page, a few static files compiled into the binary. The page
//! is a client of the public API like any app: it signs in with an app's key and reads
//! through `/v1`, `/readyz` and `/metrics`, so it can see nothing an app could not.
//!
//! There is no build step: the files in `src/dashboard/` are what the browser gets, so
//! `cargo run` needs no JavaScript toolchain and nothing can drift from a build.

use poem::http::{StatusCode, header};
use poem::{Endpoint, Request, Response};

/// One file of the page.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const ASSETS: &[Asset] = &[
    asset(
        "/",
        "text/html; charset=utf-8",
        include_str!("dashboard/index.html"),
    ),
    asset(
        "style.css",
        "text/css; charset=utf-8",
        include_str!("dashboard/style.css"),
    ),
    script("app.js", include_str!("dashboard/app.js")),
    script("api.js", include_str!("dashboard/api.js")),
    script("stream.js", include_str!("dashboard/stream.js")),
    script("live.js", include_str!("dashboard/live.js")),
    script("entry.js", include_str!("dashboard/entry.js")),
    script("owner.js", include_str!("dashboard/owner.js")),
    script("health.js", include_str!("dashboard/health.js")),
    script("chart.js", include_str!("dashboard/chart.js")),
    script("view.js", include_str!("dashboard/view.js")),
    asset(
        "favicon.svg",
        "image/svg+xml",
        include_str!("dashboard/favicon.svg"),
    ),
];

const fn asset(path: &'static str, content_type: &'static str, body: &'static str) -> Asset {
    Asset {
        path,
        content_type,
        body,
    }
}

const fn script(path: &'static str, body: &'static str) -> Asset {
    asset(path, "text/javascript; charset=utf-8", body)
}

/// Only this origin, for everything: the page fetches nothing from another host, and a
/// script injected through data it shows could not run (no inline script is allowed).
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                      img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
                      form-action 'none'; frame-ancestors 'none'";

/// The endpoint nested at `/dashboard`.
pub fn routes() -> impl Endpoint<Output = Response> {
    poem::endpoint::make_sync(|req: Request| serve(req.uri().path()))
}

/// The paths the dashboard answers, for the API's `Allow` header.
pub const PATHS: &[&str] = &["/dashboard", "/dashboard/{file}"];

fn serve(path: &str) -> Response {
    let file = path.strip_prefix("/dashboard").unwrap_or(path);
    let file = file.trim_start_matches('/');
    let found = ASSETS.iter().find(|a| match a.path {
        "/" => file.is_empty(),
        name => name == file,
    });
    let Some(asset) = found else {
        return Response::builder()
            .status(StatusCode::NOT_FOUND)
            .content_type("text/plain; charset=utf-8")
            .body("no such file in the dashboard");
    };
    Response::builder()
        .content_type(asset.content_type)
        .header(header::CONTENT_SECURITY_POLICY, POLICY)
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::REFERRER_POLICY, "no-referrer")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(asset.body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_is_served_with_its_type_and_the_policy() {
        for asset in ASSETS {
            let path = format!("/dashboard/{}", asset.path.trim_start_matches('/'));
            let resp = serve(&path);
            assert_eq!(resp.status(), StatusCode::OK, "{path}");
            assert_eq!(resp.content_type(), Some(asset.content_type), "{path}");
            assert!(resp.headers().contains_key(header::CONTENT_SECURITY_POLICY));
        }
        assert_eq!(serve("/dashboard").status(), StatusCode::OK);
        assert_eq!(
            serve("/dashboard/nothing.js").status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            serve("/dashboard/../Cargo.toml").status(),
            StatusCode::NOT_FOUND
        );
    }

    #[test]
    fn the_page_names_only_its_own_files() {
        let page = ASSETS[0].body;
        for link in page
            .split(['"', '\''])
            .filter(|s| s.starts_with("/dashboard/"))
        {
            let name = &link["/dashboard/".len()..];
            assert!(
                ASSETS.iter().any(|a| a.path == name),
                "{link} is not served"
            );
        }
        assert!(!page.contains("http://") && !page.contains("https://"));
    }

    #[test]
    fn every_module_a_script_imports_is_served() {
        for asset in ASSETS.iter().filter(|a| a.path.ends_with(".js")) {
            for import in asset.body.split("from './").skip(1) {
                let name = import.split('\'').next().unwrap_or_default();
                assert!(
                    ASSETS.iter().any(|a| a.path == name),
                    "{} imports {name}, which is not served",
                    asset.path
                );
            }
        }
    }
}
