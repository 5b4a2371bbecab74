//! Prints the database's plan for each query on the hot paths (`db::plans`), for the scale
//! benchmark's report: Security info's list for `forty@bench.example` (from `seed_bench`) and
//! the people search of "grace h". Exits with 1 if a plan reads a whole table.
//!
//! Usage: hot_path_plans DATABASE_URL

use server::db::{self, Store};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(database_url) = std::env::args().nth(1) else {
        return Err("usage: hot_path_plans DATABASE_URL".into());
    };
    let store = Store::new(db::connect(&database_url).await?);
    let forty = store
        .user_by_key("forty@bench.example")
        .await?
        .ok_or("forty@bench.example is not there: run seed_bench first")?;
    let plans = store.hot_path_plans(forty.id, "grace h").await?;
    for plan in &plans {
        println!("{}:", plan.query);
        for step in &plan.steps {
            println!("    {step}");
        }
    }
    if plans.iter().any(|plan| plan.reads_everything()) {
        return Err("a hot-path query reads a whole table".into());
    }
    Ok(())
}
