-- How a sale's customer was identified follows from its flow; the only thing stored with it is
-- the masked phone number of the phone flows. The English labels earlier versions kept for the
-- other flows ("Personal QR code", "Checked in at the sticker") go: each app says them in the
-- cashier's language. The PostgreSQL twin of migrations/sqlite/0007_identified.sql.
ALTER TABLE payments RENAME COLUMN customer_label TO masked_phone;
UPDATE payments SET masked_phone = NULL WHERE flow NOT IN ('phone', 'sticker');
