//! "Set up an iPhone, iPad or Mac" in the dialog that shows a new app password, when the
//! organization has mail settings: a plain form that downloads the Apple configuration profile
//! (it posts the password the dialog shows; works without JavaScript), and the QR code of a
//! single-use, 10-minute link to the same profile for a phone's camera. Absent otherwise.

use leptos::prelude::*;

use crate::apple_profile::{APPLE_PROFILE_DOWNLOAD, AppleProfileOffer};

#[component]
pub fn AppleProfileSetup(
    /// The new app password's id.
    id: i32,
    /// The password the dialog shows.
    password: String,
    /// Made by the server with the password (none without the organization's mail settings).
    offer: Option<AppleProfileOffer>,
) -> impl IntoView {
    offer.map(|offer| {
        view! {
            <section class="apple-profile stack" aria-labelledby="apple-profile-heading">
                <h3 id="apple-profile-heading">"iPhone, iPad or Mac"</h3>
                <form method="post" action=APPLE_PROFILE_DOWNLOAD>
                    <input type="hidden" name="id" value=id.to_string()/>
                    <input type="hidden" name="password" value=password/>
                    <button type="submit" class="button">"Set up an iPhone, iPad or Mac"</button>
                </form>
                <p class="muted" id="apple-profile-qr-help">
                    "On an iPhone or iPad, scan this code with the camera to get the profile there. It works once, for 10 minutes. Then open Settings to install it."
                </p>
                <div class="qr" role="img"
                    aria-label="QR code: a link to the configuration profile for an iPhone or iPad"
                    aria-describedby="apple-profile-qr-help" inner_html=offer.qr_svg></div>
            </section>
        }
    })
}
