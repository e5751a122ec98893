-- Open-amount stickers the operator switched off (`kasse-server sticker off ID`): their landing
-- pages offer nothing to pay until switched on again, which deletes the row.
CREATE TABLE stickers_off (
    sticker_id  TEXT    PRIMARY KEY,
    since       BIGINT  NOT NULL
);
