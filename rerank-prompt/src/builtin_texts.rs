//! The published prompt texts, generated from `tests/data/prompts.md` by
//! `tests/reference/gen_builtin_texts.py`. Do not edit by hand.
//! Every published field is kept, including ones a template does not use
//! (Rank-R1 v0.1's `doc_prefix`, which only v0.2's code applied).
#![allow(dead_code)]

pub(crate) const RANK_R1_PROMPT_SYSTEM: &str = "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. The assistant first thinks about the reasoning process in the mind and then provides the user with the answer. The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> tags, respectively, i.e., <think> reasoning process here </think> <answer> answer here </answer>.";
pub(crate) const RANK_R1_PROMPT_USER: &str = "Given the query: \"{query}\", which of the following documents is most relevant?\n{docs}\nAfter completing the reasoning process, please provide only the label of the most relevant document to the query, enclosed in square brackets, within the answer tags. For example, if the third document is the most relevant, the answer should be: <think> reasoning process here </think> <answer>[3]</answer>.";
pub(crate) const RANK_R1_PATTERN: &str = "<think>.*?</think>\\s*<answer>(.*?)</answer>";
pub(crate) const RANK_R1_DOC_SEPARATOR: &str = "\n";
pub(crate) const RANK_R1_DOC_PREFIX: &str = "[{num}]: ";
pub(crate) const SETWISE_PROMPT_SYSTEM: &str = "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. The assistant provides the user with the answer enclosed within <answer> </answer> tags, i.e., <answer> answer here </answer>.";
pub(crate) const SETWISE_PROMPT_USER: &str = "Given the query: \"{query}\", which of the following documents is most relevant?\n{docs}\nPlease provide only the label of the most relevant document to the query, enclosed in square brackets, within the answer tags. For example, if the third document is the most relevant, the answer should be: <answer>[3]</answer>.";
pub(crate) const SETWISE_PATTERN: &str = "<answer>(.*?)</answer>";
pub(crate) const RANK_R1_V02_PROMPT_SYSTEM: &str = "You are RankLLM, an intelligent assistant capable of evaluating the relevancy of passages to a given query.";
pub(crate) const RANK_R1_V02_PROMPT_USER: &str = "You will be presented with a query, and a set of documents.\n\nYour task consists of the following step:\n\n1. Analyze the query: Carefully read the query and identify the core problem or question being asked.\n\n2. Analyze the documents: Thoroughly examine each document and briefly explain how each document is relevant or not relevant to the query.\n\n3. Find the most relevant document: Based on your analysis, select the most relevant document to the query from the set and briefly explain why.\n\nImportant: Provide your analysis within the <think> </think> tags and answer only the label of the most relevant document, enclosed in square brackets, within the <answer> </answer> tags. For example, if the third document is the most relevant, your response should be:\n<think> Your analysis here </think>\n<answer>[3]</answer>\n\nHere is the query: {query}\n\nHere are the documents:\n{docs}";
pub(crate) const RANK_R1_V02_PATTERN: &str = "<think>.*?</think>\\s*<answer>(.*?)</answer>";
pub(crate) const RANK_R1_V02_DOC_SEPARATOR: &str = "\n\n";
pub(crate) const RANK_R1_V02_DOC_PREFIX: &str = "[{num}]: ";
pub(crate) const RANKZEPHYR_PROMPT_SYSTEM: &str = "You are RankLLM, an intelligent assistant that can rank passages based on their relevancy to the query";
pub(crate) const RANKZEPHYR_PROMPT_USER: &str = "I will provide you with {num} passages, each indicated by a numerical identifier []. Rank the passages based on their relevance to the search query: {query}.\n{docs}\nSearch Query: {query}.\nRank the {num} passages above based on their relevance to the search query. All the passages should be included and listed using identifiers, in descending order of relevance. The output format should be [] > [], e.g., [2] > [1], Only respond with the ranking results, do not say any word or explain.";
pub(crate) const RANKZEPHYR_PATTERN: &str = "\\s*([\\d+\\s*>*\\[\\]]+)\\s*";
pub(crate) const REARANK_SYSTEM: &str = "You are DeepRerank, an intelligent assistant that can rank passages based on their relevancy to the search query. You first thinks about the reasoning process in the mind and then provides the user with the answer.";
pub(crate) const REARANK_INTRO_USER: &str = "I will provide you with passages, each indicated by number identifier []. Rank the passages based on their relevance to the search query.Search Query: {query}. \nRank the {num} passages above based on their relevance to the search query.The passages should be listed in descending order using identifiers. The most relevant passages should be listed first. The output format should be <answer> [] > [] </answer>, e.g., <answer> [1] > [2] </answer>.";
pub(crate) const REARANK_INTRO_ASSISTANT: &str = "Okay, please provide the passages.";
pub(crate) const REARANK_PASSAGE_USER: &str = "[{i}] {passage}";
pub(crate) const REARANK_PASSAGE_ASSISTANT: &str = "Received passage [{i}].";
pub(crate) const REARANK_FINAL_USER: &str = "Please rank these passages according to their relevance to the search query: \"{query}\"\n            Follow these steps exactly:\n            1. First, within <think> tags, analyze EACH passage individually:\n            - Evaluate how well it addresses the query\n            - Note specific relevant information or keywords\n\n            2. Then, within <answer> tags, provide ONLY the final ranking in descending order of relevance using the format: [X] > [Y] > [Z]";
pub(crate) const RANKGPT_SYSTEM: &str = "You are RankGPT, an intelligent assistant that can rank passages based on their relevancy to the query.";
pub(crate) const RANKGPT_INTRO_USER: &str = "I will provide you with {num} passages, each indicated by number identifier []. \nRank the passages based on their relevance to query: {query}.";
pub(crate) const RANKGPT_INTRO_ASSISTANT: &str = "Okay, please provide the passages.";
pub(crate) const RANKGPT_PASSAGE_USER: &str = "[{i}] {passage}";
pub(crate) const RANKGPT_PASSAGE_ASSISTANT: &str = "Received passage [{i}].";
pub(crate) const RANKGPT_FINAL_USER: &str = "Search Query: {query}. \nRank the {num} passages above based on their relevance to the search query. The passages should be listed in descending order using identifiers. The most relevant passages should be listed first. The output format should be [] > [], e.g., [1] > [2]. Only response the ranking results, do not say any word or explain.";
