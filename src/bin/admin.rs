//! The manager's back office as a bundle of its own (`admin.html`, built into `dist/admin/`):
//! devices and the sales of any day, which no till or display loads.

fn main() {
    leptos::mount::mount_to_body(kasse::AdminApp);
}
