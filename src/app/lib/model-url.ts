/** Where the shipped foundation model is served (the base model of Predict and Fine-tune). */
export const MODEL_URL = `${import.meta.env.BASE_URL}models/behavegpt-us/model.json`;
