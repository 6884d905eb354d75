//! What reg.exe prints, shared by the `reg compare` and `reg query` parsers (which never
//! import each other): its messages in every known language, and its printed value forms.

pub mod messages;
pub mod printed;
