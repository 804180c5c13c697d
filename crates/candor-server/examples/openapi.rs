//! Prints the OpenAPI document a server with the default settings serves at `/openapi.json`,
//! for clients/generate.sh: the client libraries are generated from it without starting a server.
//! No policy is given, so jurisdictions and purposes are any string rather than one shop's lists;
//! the short paths Segment's browser library posts to are left out (the long ones are there).
//!
//!     cargo run -q -p candor-server --example openapi > openapi.json

use candor_app::config::{Config, Overrides};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::resolve("", Overrides::default())?;
    let doc = candor_server::openapi::clients_document(&config);
    println!("{}", serde_json::to_string_pretty(&doc)?);
    Ok(())
}
