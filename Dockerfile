FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot bot
COPY connectors connectors
COPY workflows workflows
COPY oauth_app oauth_app
COPY core core
COPY sandbox sandbox
COPY cli cli
COPY migrations migrations
RUN pip install --no-cache-dir -e .
EXPOSE 3000
CMD ["atom", "run"]
