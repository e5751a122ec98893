//! Texts every page uses.

super::texts! {
    /// The live-connection badge, connected.
    live: "Live", "Tilkoblet", "Forbundet", "Yhteys";
    /// The badge while connecting.
    connecting: "Connecting…", "Kobler til…", "Forbinder…", "Yhdistetään…";
    /// The badge after a drop.
    reconnecting: "Reconnecting…", "Kobler til igjen…", "Forbinder igen…", "Yhdistetään uudelleen…";
    /// The language switcher's label.
    language: "Language", "Språk", "Sprog", "Kieli";
    /// No answer from the server.
    no_answer: "No answer from the server. Try again.", "Ingen svar fra serveren. Prøv igjen.", "Intet svar fra serveren. Prøv igen.", "Palvelin ei vastaa. Yritä uudelleen.";
    /// Loading a page.
    loading: "Loading…", "Laster…", "Indlæser…", "Ladataan…";
    /// A reference label.
    reference: "Reference", "Referanse", "Reference", "Viite";
    /// The page-not-found heading.
    not_found: "Page not found", "Fant ikke siden", "Siden findes ikke", "Sivua ei löydy";
    /// Back to the till.
    to_till: "Go to the till", "Gå til kassen", "Gå til kassen", "Siirry kassalle";
}
