//! The pairing page, where a manager's one-time code makes a browser a till or a customer display.

super::texts! {
    /// The page's heading.
    heading: "Pair this browser", "Koble til denne nettleseren", "Par denne browser", "Yhdistä tämä selain";
    /// What to do.
    line: "Type the pairing code the manager gave you. It works once, for ten minutes.", "Skriv inn koden du fikk av lederen. Den virker én gang, i ti minutter.", "Skriv den kode, du har fået af lederen. Den virker én gang, i ti minutter.", "Kirjoita esimieheltä saamasi koodi. Se toimii kerran, kymmenen minuutin ajan.";
    /// The code field's label.
    code: "Pairing code", "Tilkoblingskode", "Parringskode", "Yhdistämiskoodi";
    /// The button.
    pair: "Pair", "Koble til", "Par", "Yhdistä";
    /// A code the server refused.
    refused: "That pairing code is not valid: it may be mistyped, used or more than ten minutes old. Ask the manager for a new one.", "Koden er ikke gyldig: den kan være feilskrevet, brukt eller over ti minutter gammel. Be lederen om en ny.", "Koden er ikke gyldig: den kan være skrevet forkert, brugt eller over ti minutter gammel. Bed lederen om en ny.", "Koodi ei kelpaa: se voi olla kirjoitettu väärin, käytetty tai yli kymmenen minuuttia vanha. Pyydä esimieheltä uusi.";
}
