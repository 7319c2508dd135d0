-- Recall by meaning (DESIGN 4.8): a fact's vector from the embeddings model named in
-- `embedding_model` (little-endian f32s); facts without one are found by words only. An
-- organisation may choose its own embeddings model.
ALTER TABLE memories ADD COLUMN embedding BLOB;
ALTER TABLE memories ADD COLUMN embedding_model TEXT;
ALTER TABLE org_llm_settings ADD COLUMN embedding_model TEXT;
