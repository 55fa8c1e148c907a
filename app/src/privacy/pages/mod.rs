//! The privacy area's pages and the parts every page carries.

pub mod banner;
pub mod locations;
pub mod policy_pages;
pub mod privacy_page;
pub mod receipt_page;
pub mod retention;

pub use banner::{
    provide_page_consent, theme_class, CookieBanner, FooterControls, PolicyReviewBanner,
};
pub use policy_pages::{PolicyDocumentPage, PolicyHistoryPage};
pub use privacy_page::PrivacyPage;
pub use receipt_page::VerifyReceiptPage;
