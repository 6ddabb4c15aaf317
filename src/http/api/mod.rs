//! The JSON API under `/api/v1`.

mod analytics;
pub(crate) mod body;
mod budget;
mod catalog;
mod usage;

use super::routes::Routes;

pub fn routes(r: Routes) -> Routes {
    let r = usage::routes(r);
    let r = analytics::routes(r);
    let r = catalog::routes(r);
    budget::routes(r)
}
